#!/usr/bin/env python3
"""The agent's module graph, read off the built static libraries.

A module is one object file (one .c). An edge A -> B means A calls a function or uses a
variable that B defines. Prints the cycles (strongly connected components of more than one
module) and exits 1 when there is any; with --dot, prints the graph in Graphviz form.
"""
import subprocess
import sys


def read(libs):
    defines, uses = {}, {}
    for lib in libs:
        out = subprocess.run(["nm", "-A", lib], check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            # "lib.a:member.o:                 U symbol" or "...:0000000000000000 T symbol"
            where, _, rest = line.rpartition(":")
            member = where.rsplit(":", 1)[-1]
            module = member[:-2] if member.endswith(".o") else member
            module = module[:-2] if module.endswith(".c") else module
            fields = rest.split()
            if len(fields) == 2 and fields[0] == "U":
                uses.setdefault(module, set()).add(fields[1])
            elif len(fields) == 3 and fields[1] in "TDBRCVW":
                defines[fields[2]] = module
            uses.setdefault(module, set())
    graph = {m: set() for m in uses}
    for m, syms in uses.items():
        for s in syms:
            d = defines.get(s)
            if d and d != m:
                graph[m].add(d)
    return graph


def cycles(graph):
    """Tarjan's strongly connected components, iteratively."""
    index, low, on, stack, out, n = {}, {}, set(), [], [], 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = n
        n += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            for w in it:
                if w not in index:
                    index[w] = low[w] = n
                    n += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    scc = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        scc.append(w)
                        if w == v:
                            break
                    if len(scc) > 1:
                        out.append(sorted(scc))
    return out


def main(argv):
    dot = "--dot" in argv
    libs = [a for a in argv if a != "--dot"]
    if not libs:
        print("usage: module-graph.py [--dot] LIB.a...", file=sys.stderr)
        return 2
    graph = read(libs)
    if dot:
        print("digraph agent {")
        for m in sorted(graph):
            for d in sorted(graph[m]):
                print(f'  "{m}" -> "{d}";')
        print("}")
        return 0
    found = cycles(graph)
    for scc in found:
        print("cycle: " + " <-> ".join(scc))
    edges = sum(len(v) for v in graph.values())
    print(f"{len(graph)} modules, {edges} edges, {len(found)} cycles")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
