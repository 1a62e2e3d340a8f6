package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/slack-go/slack"
	"go.uber.org/goleak"

	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/sinks"
	"github.com/klaxon-agent/klaxon/sinks/spool"
)

func TestMain(m *testing.M) {
	// slacktest hands every posted message to a goroutine that waits for a
	// websocket client, which these tests never connect.
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/slack-go/slack/slacktest.(*Server).queueForWebsocket"))
}

// webhookSecretPath is the part of a webhook URL that grants posting.
const webhookSecretPath = "/services/T0000SECRET/B0000SECRET/XXXXSECRETXXXX"

// fakeWebhook is an incoming webhook on 127.0.0.1 that records the
// messages it accepts. It can be stopped and started again on the same
// address. respond scripts the response to the n-th request, counted from
// 1. It returns 0 to accept the message, a status code to respond with, or
// -1 when it wrote the response itself.
type fakeWebhook struct {
	t    *testing.T
	addr string

	mu       sync.Mutex
	srv      *http.Server
	requests int
	messages []slack.WebhookMessage
	respond  func(n int, w http.ResponseWriter, r *http.Request) int
}

func newFakeWebhook(t *testing.T) *fakeWebhook {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeWebhook{t: t, addr: l.Addr().String()}
	f.serve(l)
	t.Cleanup(f.stop)
	return f
}

func (f *fakeWebhook) url() string { return "http://" + f.addr + webhookSecretPath }

func (f *fakeWebhook) serve(l net.Listener) {
	srv := &http.Server{Handler: http.HandlerFunc(f.handle)}
	f.mu.Lock()
	f.srv = srv
	f.mu.Unlock()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			f.t.Errorf("fake webhook: %v", err)
		}
	}()
}

// stop closes the listener and every connection.
func (f *fakeWebhook) stop() {
	f.mu.Lock()
	srv := f.srv
	f.srv = nil
	f.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
}

// start listens again on the same address.
func (f *fakeWebhook) start() {
	f.t.Helper()
	l, err := net.Listen("tcp", f.addr)
	if err != nil {
		f.t.Fatalf("listen again on %s: %v", f.addr, err)
	}
	f.serve(l)
}

func (f *fakeWebhook) handle(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != webhookSecretPath || r.Method != http.MethodPost {
		http.Error(w, "no_service", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	var msg slack.WebhookMessage
	if err := json.Unmarshal(body, &msg); err != nil {
		http.Error(w, "invalid_payload", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.requests++
	n, respond := f.requests, f.respond
	f.mu.Unlock()
	if respond != nil {
		if status := respond(n, w, r); status != 0 {
			if status > 0 {
				w.WriteHeader(status)
			}
			return
		}
	}
	f.mu.Lock()
	f.messages = append(f.messages, msg)
	f.mu.Unlock()
	io.WriteString(w, "ok")
}

func (f *fakeWebhook) received() []slack.WebhookMessage {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]slack.WebhookMessage(nil), f.messages...)
}

func (f *fakeWebhook) setRespond(fn func(n int, w http.ResponseWriter, r *http.Request) int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.respond = fn
}

var fastRetry = spool.Config{RetryMin: sinks.Duration(time.Millisecond), RetryMax: sinks.Duration(20 * time.Millisecond)}

// webhookConfig writes url to a secret file, as a mounted Kubernetes
// Secret would hold it.
func webhookConfig(t *testing.T, url string) Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "webhook-url")
	if err := os.WriteFile(path, []byte(url+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return Config{Name: "slack", WebhookURLFile: path, Timeout: sinks.Duration(time.Second), Config: fastRetry}
}

func newTestSink(t *testing.T, cfg Config, opts sinks.Options, in internals) *Sink {
	t.Helper()
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
	s, err := newSink(cfg, opts, in)
	if err != nil {
		t.Fatalf("new sink: %v", err)
	}
	return s
}

func send(t *testing.T, s *Sink, alerts ...*scanner.Alert) {
	t.Helper()
	for _, a := range alerts {
		if err := s.Send(context.Background(), a); err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
}

func closeSink(t *testing.T, s *Sink) {
	t.Helper()
	if err := s.Close(context.Background()); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func numbered(i int) *scanner.Alert {
	a := hostileAlert()
	a.Summary = fmt.Sprintf("alert %d", i)
	a.GroupKey = fmt.Sprintf("group-%d", i)
	return a
}

// waitFor polls cond until it holds, failing after a generous deadline.
// It checks conditions, not durations.
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

// syncBuffer is a bytes.Buffer that a logger may write while the test
// reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestWebhookPostsBlockKitMessage(t *testing.T) {
	f := newFakeWebhook(t)
	s := newTestSink(t, webhookConfig(t, f.url()), sinks.Options{}, internals{})
	send(t, s, hostileAlert())
	closeSink(t, s)

	got := f.received()
	if len(got) != 1 {
		t.Fatalf("webhook received %d messages, want 1", len(got))
	}
	msg := got[0]
	if msg.UnfurlLinks == nil || *msg.UnfurlLinks || msg.UnfurlMedia == nil || *msg.UnfurlMedia {
		t.Errorf("unfurl_links = %v, unfurl_media = %v; want both false", msg.UnfurlLinks, msg.UnfurlMedia)
	}
	if !strings.Contains(msg.Text, "OOM in &lt;!channel&gt;") {
		t.Errorf("fallback text = %q, want the escaped summary", msg.Text)
	}
	if msg.Blocks == nil || len(msg.Blocks.BlockSet) != 5 {
		t.Fatalf("blocks = %+v, want header, summary, fields, labels and samples", msg.Blocks)
	}
	wantTypes := []slack.MessageBlockType{slack.MBTHeader, slack.MBTSection, slack.MBTSection, slack.MBTContext, slack.MBTSection}
	for i, b := range msg.Blocks.BlockSet {
		if b.BlockType() != wantTypes[i] {
			t.Errorf("block %d is %s, want %s", i, b.BlockType(), wantTypes[i])
		}
	}
	summary := msg.Blocks.BlockSet[1].(*slack.SectionBlock).Text
	if summary.Text != "OOM in &lt;!channel&gt; &amp; &lt;@U024BE7LH&gt; see &lt;https://evil.example|docs&gt;" || !summary.Verbatim {
		t.Errorf("summary block = %+v, want the escaped summary, verbatim", summary)
	}
	if msg.ThreadTimestamp != "" {
		t.Errorf("webhook message has thread_ts %q, want none", msg.ThreadTimestamp)
	}
}

func TestWebhookRetriesUntilAccepted(t *testing.T) {
	f := newFakeWebhook(t)
	f.setRespond(func(n int, w http.ResponseWriter, r *http.Request) int {
		switch n {
		case 1:
			return http.StatusInternalServerError
		case 2:
			w.Header().Set("Retry-After", "0")
			return http.StatusTooManyRequests
		case 3:
			// Slower than the client's timeout: the client gives up.
			<-r.Context().Done()
			return http.StatusGatewayTimeout
		}
		return 0
	})
	reg := prometheus.NewPedanticRegistry()
	cfg := webhookConfig(t, f.url())
	cfg.Timeout = sinks.Duration(100 * time.Millisecond)
	s := newTestSink(t, cfg, sinks.Options{Registerer: reg}, internals{})
	send(t, s, numbered(1))
	closeSink(t, s)

	got := f.received()
	if len(got) != 1 || !strings.Contains(got[0].Text, "alert 1") {
		t.Fatalf("webhook accepted %d messages, want alert 1 once", len(got))
	}
	if failures := testutil.ToFloat64(seriesValue(t, reg, "klaxon_sink_delivery_failures_total")); failures != 3 {
		t.Errorf("delivery failures = %v, want 3 (500, 429, timeout)", failures)
	}
}

func TestWebhookDropsRejectedMessage(t *testing.T) {
	f := newFakeWebhook(t)
	f.setRespond(func(n int, w http.ResponseWriter, r *http.Request) int {
		if n == 1 {
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, "invalid_blocks")
			return -1
		}
		return 0
	})
	reg := prometheus.NewPedanticRegistry()
	var logs syncBuffer
	s := newTestSink(t, webhookConfig(t, f.url()), sinks.Options{Registerer: reg, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, internals{})
	send(t, s, numbered(1))
	waitFor(t, "the rejection", func() bool { return strings.Contains(logs.String(), "rejected") })
	send(t, s, numbered(2))
	closeSink(t, s)

	got := f.received()
	if len(got) != 1 || !strings.Contains(got[0].Text, "alert 2") {
		t.Errorf("webhook accepted %d messages, want only alert 2", len(got))
	}
	if !strings.Contains(logs.String(), "HTTP 400: invalid_blocks") {
		t.Errorf("log lacks Slack's reason:\n%s", logs.String())
	}
	dropped := testutil.ToFloat64(seriesValue(t, reg, "klaxon_sink_alerts_dropped_total", "reason", "rejected"))
	if dropped != 1 {
		t.Errorf("rejected drops = %v, want 1", dropped)
	}
}

func TestWebhookMergesAlertsThatWaited(t *testing.T) {
	f := newFakeWebhook(t)
	inFlight := make(chan struct{})
	release := make(chan struct{})
	f.setRespond(func(n int, w http.ResponseWriter, r *http.Request) int {
		if n == 1 {
			close(inFlight)
			<-release
		}
		return 0
	})
	s := newTestSink(t, webhookConfig(t, f.url()), sinks.Options{}, internals{})
	send(t, s, numbered(0))
	<-inFlight
	for i := 1; i <= 4; i++ {
		send(t, s, numbered(i))
	}
	close(release)
	closeSink(t, s)

	got := f.received()
	if len(got) != 2 {
		t.Fatalf("webhook accepted %d messages, want 2: alert 0, then the four that waited", len(got))
	}
	merged := got[1]
	if !strings.HasPrefix(merged.Text, "4 alerts: ") {
		t.Errorf("second message text = %q, want 4 merged alerts", merged.Text)
	}
	if n := len(merged.Blocks.BlockSet); n != 5 {
		t.Errorf("merged message has %d blocks, want a header and 4 sections", n)
	}
	for i := 1; i <= 4; i++ {
		section := merged.Blocks.BlockSet[i].(*slack.SectionBlock)
		if !strings.Contains(section.Text.Text, fmt.Sprintf("alert %d", i)) {
			t.Errorf("section %d = %q, want alert %d", i, section.Text.Text, i)
		}
	}
}

func TestWebhookKeepsURLOutOfLogs(t *testing.T) {
	f := newFakeWebhook(t)
	f.setRespond(func(int, http.ResponseWriter, *http.Request) int { return http.StatusServiceUnavailable })
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	unreachableURL := "http://" + closed.Addr().String() + webhookSecretPath
	closed.Close()

	for name, target := range map[string]string{"server error": f.url(), "connection refused": unreachableURL} {
		t.Run(name, func(t *testing.T) {
			var logs syncBuffer
			log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
			s := newTestSink(t, webhookConfig(t, target), sinks.Options{Logger: log}, internals{})
			send(t, s, numbered(1))
			waitFor(t, "a failed post", func() bool { return strings.Contains(logs.String(), "delivery failed") })
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			s.Close(ctx)
			if strings.Contains(logs.String(), "SECRET") {
				t.Errorf("log contains the webhook URL:\n%s", logs.String())
			}
		})
	}
}

func TestNewRejectsBadWebhookURLWithoutQuotingIt(t *testing.T) {
	cfg := webhookConfig(t, "not a url SECRET")
	_, err := newSink(cfg, sinks.Options{StateDir: t.TempDir()}, internals{})
	if err == nil {
		t.Fatal("newSink accepted a webhook file that holds no URL")
	}
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error quotes the secret: %v", err)
	}
}

// seriesValue returns the value of the one series of name whose labels
// include the given pairs, as a collector for testutil.ToFloat64.
func seriesValue(t *testing.T, reg *prometheus.Registry, name string, pairs ...string) prometheus.Collector {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
	series:
		for _, m := range mf.GetMetric() {
			for i := 0; i+1 < len(pairs); i += 2 {
				found := false
				for _, lp := range m.GetLabel() {
					found = found || (lp.GetName() == pairs[i] && lp.GetValue() == pairs[i+1])
				}
				if !found {
					continue series
				}
			}
			return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: name}, m.GetCounter().GetValue)
		}
	}
	t.Fatalf("no series %s with %v", name, pairs)
	return nil
}
