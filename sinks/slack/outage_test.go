package slack

import (
	"context"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/slack-go/slack"

	"github.com/klaxon-agent/klaxon/sinks"
)

var alertNumber = regexp.MustCompile(`\balert (\d+)\b`)

// alertsIn counts, per alert number, the sections of the received
// messages that carry it: the summary of a single message, or one section
// of a merged one.
func alertsIn(t *testing.T, messages []slack.WebhookMessage) map[int]int {
	t.Helper()
	seen := map[int]int{}
	for _, m := range messages {
		for _, b := range m.Blocks.BlockSet {
			sec, ok := b.(*slack.SectionBlock)
			if !ok || sec.Text == nil {
				continue
			}
			for _, match := range alertNumber.FindAllStringSubmatch(sec.Text.Text, -1) {
				n, err := strconv.Atoi(match[1])
				if err != nil {
					t.Fatal(err)
				}
				seen[n]++
			}
		}
	}
	return seen
}

// TestWebhookOutageAndRestart stops the webhook server, restarts the sink
// while the server is down, brings the server back, and checks that every
// alert was posted exactly once, alone or in a merged message.
func TestWebhookOutageAndRestart(t *testing.T) {
	const before, during, afterRestart = 5, 20, 5
	f := newFakeWebhook(t)
	state := t.TempDir()
	reg := prometheus.NewPedanticRegistry()
	cfg := webhookConfig(t, f.url())
	opts := sinks.Options{StateDir: state, Registerer: reg}

	s := newTestSink(t, cfg, opts, internals{})
	next := 0
	sendN := func(s *Sink, n int) {
		for range n {
			send(t, s, numbered(next))
			next++
		}
	}
	sendN(s, before)
	waitFor(t, "the alerts sent before the outage", func() bool { return len(alertsIn(t, f.received())) == before })

	f.stop()
	sendN(s, during/2)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err := s.Close(ctx)
	cancel()
	if err != nil {
		t.Fatalf("Close during the outage: %v", err)
	}
	s = newTestSink(t, cfg, opts, internals{})
	sendN(s, during/2)

	f.start()
	sendN(s, afterRestart)
	total := before + during + afterRestart
	waitFor(t, "every alert after the outage", func() bool { return len(alertsIn(t, f.received())) == total })
	closeSink(t, s)

	seen := alertsIn(t, f.received())
	for i := range total {
		if seen[i] != 1 {
			t.Errorf("alert %d posted %d times, want once", i, seen[i])
		}
	}
	delivered := testutil.ToFloat64(seriesValue(t, reg, "klaxon_sink_alerts_delivered_total"))
	if delivered != float64(total) {
		t.Errorf("delivered counter = %v, want %d", delivered, total)
	}
	failures := testutil.ToFloat64(seriesValue(t, reg, "klaxon_sink_delivery_failures_total"))
	if failures == 0 {
		t.Error("no failed delivery counted, want the outage to show")
	}
	t.Logf("outage: %d alerts sent (%d before, %d during with a sink restart, %d after) in %d messages, %d distinct alerts posted, %v failed attempts",
		total, before, during, afterRestart, len(f.received()), len(seen), failures)
}
