package loki

import (
	"errors"
	"fmt"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// clientCounters stands for loki-client-go's counters of one host, in a
// registry of the test's own, read through hostCounts as the sink reads
// the real ones.
type clientCounters struct {
	sent, dropped prometheus.Counter
	read          countReader
}

func newClientCounters(t *testing.T) *clientCounters {
	t.Helper()
	const host = "loki.test:3100"
	reg := prometheus.NewPedanticRegistry()
	sent := prometheus.NewCounterVec(prometheus.CounterOpts{Name: sentEntriesMetric, Help: "sent"}, []string{"host"})
	dropped := prometheus.NewCounterVec(prometheus.CounterOpts{Name: droppedEntriesMetric, Help: "dropped"}, []string{"host"})
	reg.MustRegister(sent, dropped)
	// Another host's series must not be read.
	sent.WithLabelValues("other:3100").Add(7)
	dropped.WithLabelValues("other:3100").Add(3)
	return &clientCounters{
		sent:    sent.WithLabelValues(host),
		dropped: dropped.WithLabelValues(host),
		read:    hostCounts(reg, host),
	}
}

// step is one event of a tracker test: the sink hands in an alert, the
// client counts a batch or logs a give-up, or the tracker polls.
type step struct {
	add     int // hand in alert add with entries entries (alone if alone)
	entries int
	alone   bool
	sent    int  // the client counts sent entries
	giveUp  int  // the client logs a give-up with this status
	dropped int  // the client counts dropped entries
	lost    bool // the client logs that it failed to encode a batch
	poll    bool // the tracker reads the counters
}

func TestTrackerSettlesInOrder(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		// want maps an alert id to its outcome, "" for still in flight.
		want map[uint64]string
	}{
		{
			name:  "one batch sent",
			steps: []step{{add: 1, entries: 1}, {add: 2, entries: 1}, {sent: 2}, {poll: true}},
			want:  map[uint64]string{1: "delivered", 2: "delivered"},
		},
		{
			name:  "alert waits for all its entries",
			steps: []step{{add: 1, entries: 2}, {add: 2, entries: 1}, {sent: 1}, {poll: true}},
			want:  map[uint64]string{1: "", 2: ""},
		},
		{
			name: "rejected batch between sent batches",
			steps: []step{
				{add: 1, entries: 1}, {add: 2, entries: 1}, {add: 3, entries: 1},
				{sent: 1}, {giveUp: 400}, {dropped: 1}, {sent: 1}, {poll: true},
			},
			want: map[uint64]string{1: "delivered", 2: "rejected", 3: "delivered"},
		},
		{
			name: "give-up logged but not yet counted",
			steps: []step{
				{add: 1, entries: 1}, {add: 2, entries: 1},
				{giveUp: 400}, {poll: true},
			},
			want: map[uint64]string{1: "", 2: ""},
		},
		{
			name: "give-up counted later",
			steps: []step{
				{add: 1, entries: 1}, {add: 2, entries: 1},
				{giveUp: 400}, {poll: true}, {dropped: 1}, {sent: 1}, {poll: true},
			},
			want: map[uint64]string{1: "rejected", 2: "delivered"},
		},
		{
			name:  "rejected batch of two alerts",
			steps: []step{{add: 1, entries: 1}, {add: 2, entries: 2}, {giveUp: 400}, {dropped: 3}, {poll: true}},
			want:  map[uint64]string{1: "resend alone", 2: "resend alone"},
		},
		{
			name:  "server error",
			steps: []step{{add: 1, entries: 1}, {giveUp: 503}, {dropped: 1}, {poll: true}},
			want:  map[uint64]string{1: "failed"},
		},
		{
			name:  "connection error",
			steps: []step{{add: 1, entries: 1}, {giveUp: -1}, {dropped: 1}, {poll: true}},
			want:  map[uint64]string{1: "failed"},
		},
		{
			name:  "authentication error is retried",
			steps: []step{{add: 1, entries: 1}, {giveUp: 401}, {dropped: 1}, {poll: true}},
			want:  map[uint64]string{1: "failed"},
		},
		{
			name: "rejection outweighs sent entries",
			steps: []step{
				{add: 1, entries: 3}, {sent: 2}, {giveUp: 400}, {dropped: 1}, {poll: true},
			},
			want: map[uint64]string{1: "rejected"},
		},
		{
			name: "several give-ups between polls",
			steps: []step{
				{add: 1, entries: 1}, {add: 2, entries: 1}, {add: 3, entries: 1}, {add: 4, entries: 1},
				{giveUp: 400}, {dropped: 1}, {giveUp: 503}, {dropped: 1}, {sent: 1}, {poll: true},
			},
			want: map[uint64]string{1: "rejected", 2: "failed", 3: "delivered", 4: ""},
		},
		{
			name: "counts beyond the entries handed in",
			steps: []step{
				{add: 1, entries: 1}, {sent: 2}, {poll: true}, {add: 2, entries: 1},
			},
			want: map[uint64]string{1: "failed", 2: "failed"},
		},
		{
			name: "batch lost to an encoding error",
			steps: []step{
				{add: 1, entries: 1}, {add: 2, entries: 1}, {sent: 1}, {poll: true},
				{lost: true}, {sent: 1}, {poll: true}, {add: 3, entries: 1},
			},
			want: map[uint64]string{1: "delivered", 2: "failed", 3: "failed"},
		},
		{
			name:  "drop without a give-up",
			steps: []step{{add: 1, entries: 1}, {dropped: 1}, {poll: true}},
			want:  map[uint64]string{1: "failed"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClientCounters(t)
			b := newBook()
			tr := newTracker(c.read, b)
			base, err := c.read()
			if err != nil {
				t.Fatal(err)
			}
			tr.start(base)
			for _, s := range tt.steps {
				switch {
				case s.add != 0:
					k := entryKey{id: uint64(s.add)}
					if start, _ := b.startFlight(k); !start {
						t.Fatalf("alert %d is already in flight", s.add)
					}
					tr.add(&flight{key: k, alone: s.alone, left: s.entries})
				case s.sent != 0:
					c.sent.Add(float64(s.sent))
				case s.giveUp != 0:
					tr.gaveUp(s.giveUp, fmt.Errorf("status %d", s.giveUp))
				case s.dropped != 0:
					c.dropped.Add(float64(s.dropped))
				case s.lost:
					tr.lost(errors.New("proto: encode failed"))
				case s.poll:
					tr.poll()
				}
			}
			for id, want := range tt.want {
				if got := outcomeName(b, entryKey{id: id}); got != want {
					t.Errorf("alert %d: outcome %q, want %q", id, got, want)
				}
			}
		})
	}
}

func outcomeName(b *book, k entryKey) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	o, ok := b.outcomes[k]
	if !ok {
		return ""
	}
	return map[outcomeKind]string{
		delivered:   "delivered",
		failed:      "failed",
		resendAlone: "resend alone",
		rejected:    "rejected",
	}[o.kind]
}

func TestTrackerKeepsRejectReason(t *testing.T) {
	c := newClientCounters(t)
	b := newBook()
	tr := newTracker(c.read, b)
	tr.start(counts{})
	k := entryKey{id: 1}
	b.startFlight(k)
	tr.add(&flight{key: k, left: 1})
	reason := errors.New("entry too old")
	tr.gaveUp(400, reason)
	c.dropped.Add(1)
	tr.poll()

	b.mu.Lock()
	defer b.mu.Unlock()
	if got := b.outcomes[k].err; got != reason {
		t.Errorf("outcome error = %v, want the client's error %v", got, reason)
	}
	if b.inFlight[k] {
		t.Error("settled alert is still in flight")
	}
}

func TestHostCountsMissingSeries(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	if _, err := hostCounts(reg, "loki:3100")(); err == nil {
		t.Error("read of absent counters succeeded, want an error")
	}
}
