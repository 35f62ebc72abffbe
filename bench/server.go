package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	sjclient "github.com/swarmjob/swarmjob/client"
)

// clockTicksPerSecond is USER_HZ, the unit of utime and stime in
// /proc/<pid>/stat. It is 100 on every Linux architecture's /proc ABI (and
// sysconf(_SC_CLK_TCK) needs cgo).
const clockTicksPerSecond = 100

// serverFlags are the flags of `swarmjob serve` beyond its address and data
// directory (and -serve-flags); everything else is left at its default. The
// long orphan grace
// keeps the server's garbage collector from removing services of other
// swarmjob servers sharing this Swarm (their jobs are not in this server's
// store); it still lists services every 30 s, so its cost is unchanged.
var serverFlags = []string{"--orphan-grace", "24h"}

// server is a `swarmjob serve` process started by the bench.
type server struct {
	cmd     *exec.Cmd
	url     string
	args    []string
	logPath string
	exited  chan struct{}
}

// moduleRoot returns the directory of the main module, so that the build
// works whatever the current directory inside the module is.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the swarmjob module; run from /work/main (make bench)")
	}
	return filepath.Dir(gomod), nil
}

// buildSwarmjob builds the swarmjob binary into out.
func buildSwarmjob(ctx context.Context, out string) error {
	root, err := moduleRoot(ctx)
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/swarmjob")
	cmd.Dir = root
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("building swarmjob: %w", err)
	}
	return nil
}

// freeAddr returns a loopback address with a port free at the time of the
// call.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// startServer starts `swarmjob serve` with its store in dataDir, its log in
// logPath, and serverFlags followed by extra on its command line. The process gets its own process group, so that a Ctrl-C in
// the terminal reaches only the bench, which then deletes its jobs through
// the API before stopping the server; it is sent SIGTERM if the bench dies.
func startServer(bin, dataDir, logPath string, extra []string) (*server, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	s := &server{
		url:     "http://" + addr,
		logPath: logPath,
		exited:  make(chan struct{}),
		args:    slices.Concat([]string{"serve", "--listen", addr, "--data-dir", dataDir}, serverFlags, extra),
	}
	s.cmd = exec.Command(bin, s.args...)
	s.cmd.Env = append(os.Environ(), "SWARMJOB_ADMIN_TOKEN="+benchToken)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting swarmjob serve: %w", err)
	}
	go func() {
		_ = s.cmd.Wait()
		logf.Close()
		close(s.exited)
	}()
	return s, nil
}

// pid returns the server's process ID.
func (s *server) pid() int { return s.cmd.Process.Pid }

// waitReady waits until GET /readyz succeeds.
func (s *server) waitReady(ctx context.Context, api *sjclient.Client) error {
	deadline := time.Now().Add(30 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			return fmt.Errorf("swarmjob serve exited during start-up:\n%s", s.logTail(20))
		default:
		}
		callCtx, cancel := context.WithTimeout(ctx, time.Second)
		err = api.Ready(callCtx)
		cancel()
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("swarmjob serve not ready after 30 s: %w\n%s", err, s.logTail(20))
}

// stop sends SIGTERM and waits for the process to exit; after 15 s it
// kills it.
func (s *server) stop() error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stopping swarmjob serve: %w", err)
	}
	select {
	case <-s.exited:
		return nil
	case <-time.After(15 * time.Second):
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	return errors.New("swarmjob serve did not stop within 15 s of SIGTERM; killed")
}

// running reports whether the server process has not exited.
func (s *server) running() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// cpuTime returns the CPU time (user + system, all threads) the server
// process has used so far, from /proc/<pid>/stat; the resolution is 10 ms.
func (s *server) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.pid()))
	if err != nil {
		return 0, fmt.Errorf("reading server CPU time: %w", err)
	}
	// Fields after "pid (comm) ": comm may contain spaces and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("reading server CPU time: malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state), so utime (14) and stime (15) are f[11], f[12].
	if len(f) < 13 {
		return 0, errors.New("reading server CPU time: short /proc stat")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("reading server CPU time: %w", err)
	}
	return time.Duration(utime+stime) * time.Second / clockTicksPerSecond, nil
}

// peakRSS returns the server's peak resident set size (VmHWM) in bytes.
func (s *server) peakRSS() (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.pid()))
	if err != nil {
		return 0, fmt.Errorf("reading server peak RSS: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("reading server peak RSS: %w", err)
		}
		return kb << 10, nil
	}
	return 0, errors.New("reading server peak RSS: no VmHWM in /proc status")
}

// logTail returns the last lines of the server's log.
func (s *server) logTail(lines int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return ""
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(all[max(0, len(all)-lines):], "\n")
}

// otherServers counts the `swarmjob serve` processes on this machine other
// than ours. Each of them polls Swarm fast while any managed service exists,
// including the ones this bench's jobs create, which loads the Engine during
// the swarmjob runs only; the report mentions them.
func otherServers(ours int) int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == ours {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		argv := strings.Split(string(b), "\x00")
		if len(argv) > 1 && filepath.Base(argv[0]) == "swarmjob" && argv[1] == "serve" {
			n++
		}
	}
	return n
}

// loadAverage returns the 1-minute load average, or -1.
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(f[0], 64)
	if err != nil {
		return -1
	}
	return v
}
