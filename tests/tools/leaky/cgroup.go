package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// noLimit: v1 reports "no limit" as a page-rounded LONG_MAX; anything this large is none.
const noLimit = int64(1) << 62

// cgroupMemoryLimit returns the memory limit in bytes of this process's cgroup (v2 memory.max,
// else v1 memory.limit_in_bytes), or an error when there is none or it cannot be read.
func cgroupMemoryLimit() (int64, error) {
	f, err := os.Open("/proc/self/cgroup")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var v1Path, v2Path string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		parts := strings.SplitN(sc.Text(), ":", 3)
		if len(parts) != 3 {
			continue
		}
		if parts[0] == "0" && parts[1] == "" {
			v2Path = parts[2]
		}
		for _, c := range strings.Split(parts[1], ",") {
			if c == "memory" {
				v1Path = parts[2]
			}
		}
	}
	if v1Path != "" {
		return readLimit(filepath.Join("/sys/fs/cgroup/memory", v1Path, "memory.limit_in_bytes"))
	}
	if v2Path != "" {
		return readLimit(filepath.Join("/sys/fs/cgroup", v2Path, "memory.max"))
	}
	return 0, errors.New("no memory cgroup in /proc/self/cgroup")
}

func readLimit(path string) (int64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	s := strings.TrimSpace(string(b))
	if s == "max" {
		return 0, fmt.Errorf("%s: max", path)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%s: unexpected %q", path, s)
	}
	if v >= noLimit {
		return 0, fmt.Errorf("%s: unlimited", path)
	}
	return v, nil
}
