package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// capPeriodUs is the scheduler period of the cap: short, so a capped proxy is held back in
// small slices rather than stopped for most of a long period.
const capPeriodUs = 20000

// capCPU holds the processes pids (all their threads) to percent of one core with a cgroup
// CPU quota, v2 or v1, and returns what puts them back where they were. An error says why it
// cannot be done here (no writable cpu controller: not root, or a container without one).
func capCPU(pids []int, percent int) (func() error, error) {
	quota := capPeriodUs * percent / 100
	dir, root, err := makeCPUGroup()
	if err != nil {
		return nil, err
	}
	homes := map[int]string{}
	for _, pid := range pids {
		if homes[pid], err = cgroupOf(pid, root); err != nil {
			_ = os.Remove(dir)
			return nil, err
		}
	}
	limit := [][2]string{{"cpu.max", fmt.Sprintf("%d %d", quota, capPeriodUs)}} // file, value
	if root == cgroupV1Root {
		limit = [][2]string{{"cpu.cfs_period_us", strconv.Itoa(capPeriodUs)}, {"cpu.cfs_quota_us", strconv.Itoa(quota)}}
	}
	undo := func() error {
		var errs []error
		for pid, home := range homes {
			if err := os.WriteFile(filepath.Join(home, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
				errs = append(errs, fmt.Errorf("putting %d back into %s: %w", pid, home, err))
			}
		}
		if err := os.Remove(dir); err != nil {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	}
	for _, l := range limit {
		if err := os.WriteFile(filepath.Join(dir, l[0]), []byte(l[1]), 0o644); err != nil {
			return nil, errors.Join(fmt.Errorf("cannot cap CPU: %w", err), undo())
		}
	}
	for _, pid := range pids {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
			return nil, errors.Join(fmt.Errorf("cannot cap CPU: %w", err), undo())
		}
	}
	return undo, nil
}

// cgroupOf returns the directory of pid's cgroup under root (its cpu cgroup for v1).
func cgroupOf(pid int, root string) (string, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		v2 := root == cgroupV2Root && parts[0] == "0" && parts[1] == ""
		v1 := root == cgroupV1Root && strings.Contains(","+parts[1]+",", ",cpu,")
		if v1 || v2 {
			return filepath.Join(root, parts[2]), nil
		}
	}
	return "", fmt.Errorf("cannot cap CPU: no cpu cgroup for process %d", pid)
}

const (
	cgroupV2Root = "/sys/fs/cgroup"
	cgroupV1Root = "/sys/fs/cgroup/cpu"
)

// makeCPUGroup creates a child cgroup with the cpu controller and returns it with its root.
func makeCPUGroup() (dir, root string, err error) {
	name := fmt.Sprintf("aviary-bench-%d", os.Getpid())
	if controllers, err := os.ReadFile(filepath.Join(cgroupV2Root, "cgroup.controllers")); err == nil {
		if !strings.Contains(" "+string(controllers)+" ", " cpu ") {
			return "", "", errors.New("cannot cap CPU: the cgroup v2 root has no cpu controller")
		}
		_ = os.WriteFile(filepath.Join(cgroupV2Root, "cgroup.subtree_control"), []byte("+cpu"), 0o644)
		dir = filepath.Join(cgroupV2Root, name)
		root = cgroupV2Root
	} else if _, err := os.Stat(filepath.Join(cgroupV1Root, "cpu.cfs_quota_us")); err == nil {
		dir = filepath.Join(cgroupV1Root, name)
		root = cgroupV1Root
	} else {
		return "", "", errors.New("cannot cap CPU: no cgroup cpu controller is mounted")
	}
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		return "", "", fmt.Errorf("cannot cap CPU: %w", err)
	}
	return dir, root, nil
}
