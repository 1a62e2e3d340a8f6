package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klaxon-agent/klaxon/scanner"
)

// buildKlaxon builds the klaxon binary into a temporary folder, with the
// race detector when race is true. KLAXON_TEST_BINARY names a prebuilt
// binary to use instead.
func buildKlaxon(tb testing.TB, race bool) string {
	tb.Helper()
	if bin := os.Getenv("KLAXON_TEST_BINARY"); bin != "" {
		return bin
	}
	bin := filepath.Join(tb.TempDir(), "klaxon")
	args := []string{"build", "-o", bin}
	if race {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, ".")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// receivedAlert is one alert the agent wrote, with when it was read.
type receivedAlert struct {
	scanner.Alert
	At time.Time
}

// agentProcess is a running `klaxon agent`.
type agentProcess struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan struct{} // closed when stdout is read to its end
	exited chan error
	waited error
}

// alertSink gathers the alerts of every run of the agent in one test.
type alertSink struct {
	mu     sync.Mutex
	alerts []receivedAlert
	bad    []string // stdout lines that are not alerts
}

func (s *alertSink) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		at := time.Now()
		var a scanner.Alert
		err := json.Unmarshal(sc.Bytes(), &a)
		s.mu.Lock()
		if err != nil {
			s.bad = append(s.bad, sc.Text())
		} else {
			s.alerts = append(s.alerts, receivedAlert{a, at})
		}
		s.mu.Unlock()
	}
}

func (s *alertSink) list() []receivedAlert {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]receivedAlert(nil), s.alerts...)
}

// startAgent runs the binary with args; its alerts go to sink.
func startAgent(tb testing.TB, bin string, sink *alertSink, args ...string) *agentProcess {
	tb.Helper()
	p := &agentProcess{done: make(chan struct{}), exited: make(chan error, 1)}
	p.cmd = exec.Command(bin, append([]string{"agent"}, args...)...)
	p.cmd.Stderr = &syncWriter{w: &p.stderr}
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	go func() {
		sink.read(stdout)
		close(p.done)
		p.exited <- p.cmd.Wait()
	}()
	tb.Cleanup(func() {
		p.cmd.Process.Kill()
		p.wait(time.Minute)
	})
	return p
}

// signal sends sig and waits up to limit for the process to exit. It
// returns how long the exit took and the exit error.
func (p *agentProcess) signal(tb testing.TB, sig syscall.Signal, limit time.Duration) (time.Duration, error) {
	tb.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		tb.Fatalf("signal agent: %v", err)
	}
	if !p.wait(limit) {
		tb.Fatalf("agent did not exit within %s of %s; its log:\n%s", limit, sig, p.logs())
	}
	return time.Since(start), p.waited
}

func (p *agentProcess) wait(limit time.Duration) bool {
	select {
	case err, ok := <-p.exited:
		if ok {
			p.waited = err
			close(p.exited)
		}
		return true
	case <-time.After(limit):
		return false
	}
}

func (p *agentProcess) logs() string {
	p.cmd.Stderr.(*syncWriter).mu.Lock()
	defer p.cmd.Stderr.(*syncWriter).mu.Unlock()
	return p.stderr.String()
}

// errorLogs returns the agent's log records at level ERROR.
func (p *agentProcess) errorLogs() []string {
	var out []string
	for _, line := range bytes.Split([]byte(p.logs()), []byte("\n")) {
		var rec struct{ Level string }
		if json.Unmarshal(line, &rec) == nil && rec.Level == "ERROR" {
			out = append(out, string(line))
		}
	}
	return out
}

// syncWriter serializes writes of the process's stderr copier and reads by
// the test.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}
