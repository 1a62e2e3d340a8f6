package loki

import (
	"errors"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/grafana/loki/pkg/push"
)

// fakeLoki is a push endpoint on 127.0.0.1 that decodes requests as Loki
// does, snappy-compressed protobuf, and records every entry it accepts,
// duplicates included. It can be stopped and started
// again on the same address, and scripted to respond with other statuses.
type fakeLoki struct {
	t    testing.TB
	addr string

	mu      sync.Mutex
	srv     *http.Server
	entries []fakeEntry
	headers []http.Header
	// failed counts the requests that got a status other than 204.
	failed int
	// respond, when set, decides the response to a request. A status of 0
	// accepts the request.
	respond func(req *push.PushRequest) (status int, header http.Header, body string)
	// gate, when set, is called before a request is handled, outside the
	// lock, and may block to hold the request.
	gate func()
}

type fakeEntry struct {
	labels map[string]string
	time   time.Time
	line   string
}

func newFakeLoki(t testing.TB) *fakeLoki {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeLoki{t: t, addr: l.Addr().String()}
	f.serve(l)
	t.Cleanup(f.stop)
	return f
}

func (f *fakeLoki) url() string { return "http://" + f.addr + "/loki/api/v1/push" }

func (f *fakeLoki) serve(l net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(f.handle)}
	f.mu.Lock()
	f.srv = srv
	f.mu.Unlock()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			f.t.Errorf("fake Loki: %v", err)
		}
	}()
}

// stop closes the listener and every connection: clients get "connection
// refused" until start.
func (f *fakeLoki) stop() {
	f.mu.Lock()
	srv := f.srv
	f.srv = nil
	f.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// start listens again on the same address.
func (f *fakeLoki) start() {
	f.t.Helper()
	l, err := net.Listen("tcp", f.addr)
	if err != nil {
		f.t.Fatalf("listen again on %s: %v", f.addr, err)
	}
	f.serve(l)
}

func (f *fakeLoki) handle(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	gate := f.gate
	f.mu.Unlock()
	if gate != nil {
		gate()
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	raw, err := snappy.Decode(nil, body)
	if err != nil {
		http.Error(w, "snappy: "+err.Error(), http.StatusBadRequest)
		return
	}
	var req push.PushRequest
	if err := req.Unmarshal(raw); err != nil {
		http.Error(w, "protobuf: "+err.Error(), http.StatusBadRequest)
		return
	}
	if r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "wrong content type", http.StatusUnsupportedMediaType)
		return
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.headers = append(f.headers, r.Header.Clone())
	if f.respond != nil {
		if status, header, msg := f.respond(&req); status != 0 {
			for k, v := range header {
				w.Header()[k] = v
			}
			f.failed++
			w.WriteHeader(status)
			io.WriteString(w, msg)
			return
		}
	}
	for _, st := range req.Streams {
		labels := parseLabels(f.t, st.Labels)
		for _, e := range st.Entries {
			f.entries = append(f.entries, fakeEntry{labels: labels, time: e.Timestamp, line: e.Line})
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeLoki) received() []fakeEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]fakeEntry, len(f.entries))
	copy(out, f.entries)
	return out
}

// requestCount returns how many push requests arrived, and how many of
// them got an error status.
func (f *fakeLoki) requestCount() (total, failed int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.headers), f.failed
}

func (f *fakeLoki) requestHeaders() []http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]http.Header(nil), f.headers...)
}

func (f *fakeLoki) setRespond(fn func(req *push.PushRequest) (int, http.Header, string)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.respond = fn
}

func (f *fakeLoki) setGate(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gate = fn
}

var labelPairPattern = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"`)

// parseLabels reads the label string that Loki clients send, such as
// {job="klaxon", rule="oom"}.
func parseLabels(t testing.TB, s string) map[string]string {
	labels := map[string]string{}
	for _, m := range labelPairPattern.FindAllStringSubmatch(s, -1) {
		v, err := strconv.Unquote(`"` + m[2] + `"`)
		if err != nil {
			t.Errorf("label %s in %s: %v", m[1], s, err)
		}
		labels[m[1]] = v
	}
	return labels
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline. It checks conditions, not durations.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
