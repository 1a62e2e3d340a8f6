package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slacktest"

	"github.com/klaxon-agent/klaxon/scanner"
	"github.com/klaxon-agent/klaxon/sinks"
	"github.com/klaxon-agent/klaxon/sinks/internal/sinkhttp"
	"github.com/klaxon-agent/klaxon/sinks/spool"
)

const botToken = "xoxb-0000-SECRET-TOKEN"

// posted is one chat.postMessage call seen on the wire: the form the
// sink sent and the ts of the response.
type posted struct {
	form url.Values
	ts   string
}

// wireRecorder is an http.RoundTripper that records chat.postMessage
// calls on their way to the slacktest server. slacktest responds with the
// current second as ts, so two messages in one second would share it. The
// recorder gives each response a unique ts, as Slack does.
type wireRecorder struct {
	mu    sync.Mutex
	posts []posted
}

func (w *wireRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, err
	}
	req.Body = io.NopCloser(bytes.NewReader(body))

	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, "/chat.postMessage") {
		return resp, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}

	var reply map[string]any
	if err := json.Unmarshal(respBody, &reply); err != nil {
		return nil, err
	}

	w.mu.Lock()
	defer w.mu.Unlock()
	ts := fmt.Sprintf("1700000000.%06d", len(w.posts)+1)
	reply["ts"] = ts
	if respBody, err = json.Marshal(reply); err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	resp.ContentLength = int64(len(respBody))
	resp.Header.Del("Content-Length")
	form, _ := url.ParseQuery(string(body))
	w.posts = append(w.posts, posted{form: form, ts: ts})
	return resp, nil
}

func (w *wireRecorder) recorded() []posted {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]posted(nil), w.posts...)
}

func startSlacktest(t *testing.T, binders ...slacktest.Binder) *slacktest.Server {
	t.Helper()
	srv := slacktest.NewTestServer(binders...)
	srv.Start()
	t.Cleanup(srv.Stop)
	return srv
}

func botConfig(t *testing.T, apiURL string) Config {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(botToken+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return Config{Name: "slack-bot", TokenFile: path, Channel: "C0ALERTS", APIURL: apiURL, Config: fastRetry}
}

func groupAlert(group string, kind string) *scanner.Alert {
	a := hostileAlert()
	a.GroupKey = group
	a.Summary = group + " " + kind
	a.Reminder, a.Resolved, a.PreviousAt = false, false, time.Time{}
	switch kind {
	case "reminder":
		a.Reminder = true
		a.PreviousAt = t0
	case "more":
		a.PreviousAt = t0
	case "resolved":
		a.Resolved = true
	}
	return a
}

func TestBotThreadsRepeatsOfAnEpisode(t *testing.T) {
	srv := startSlacktest(t)
	wire := &wireRecorder{}
	state := t.TempDir()
	cfg := botConfig(t, srv.GetAPIURL())
	in := internals{transport: wire}
	s := newTestSink(t, cfg, sinks.Options{StateDir: state}, in)

	// Each alert is posted before the next is sent, so none are merged.
	step := func(s *Sink, a *scanner.Alert) {
		t.Helper()
		n := len(wire.recorded())
		send(t, s, a)
		waitFor(t, "the post of "+a.Summary, func() bool { return len(wire.recorded()) == n+1 })
	}
	step(s, groupAlert("g1", "opens"))
	step(s, groupAlert("g1", "reminder"))
	// A restart in the middle: the thread store keeps the thread.
	closeSink(t, s)
	s = newTestSink(t, cfg, sinks.Options{StateDir: state}, in)
	step(s, groupAlert("g1", "more"))
	step(s, groupAlert("g1", "resolved"))
	step(s, groupAlert("g1", "opens again"))
	step(s, groupAlert("g2", "opens"))
	step(s, groupAlert("g1", "reminder"))
	closeSink(t, s)

	posts := wire.recorded()
	if len(posts) != 7 {
		t.Fatalf("recorded %d posts, want 7", len(posts))
	}
	first, reopened := posts[0].ts, posts[4].ts
	if first == reopened {
		t.Fatalf("two posts share ts %s", first)
	}
	tests := []struct {
		name     string
		threadTS string
	}{
		{"g1 opens", ""},
		{"g1 reminder", first},
		{"g1 more after restart", first},
		{"g1 resolved", first},
		{"g1 opens again", ""},
		{"g2 opens", ""},
		{"g1 reminder of the new episode", reopened},
	}
	for i, tt := range tests {
		p := posts[i]
		if got := p.form.Get("thread_ts"); got != tt.threadTS {
			t.Errorf("%s: thread_ts = %q, want %q", tt.name, got, tt.threadTS)
		}
		if got := p.form.Get("channel"); got != "C0ALERTS" {
			t.Errorf("%s: channel = %q, want C0ALERTS", tt.name, got)
		}
		if got := p.form.Get("token"); got != botToken {
			t.Errorf("%s: token = %q, want the one from token_file", tt.name, got)
		}
		if p.form.Get("unfurl_links") != "false" || p.form.Get("unfurl_media") != "false" {
			t.Errorf("%s: unfurl_links = %q, unfurl_media = %q; want false", tt.name, p.form.Get("unfurl_links"), p.form.Get("unfurl_media"))
		}
	}
	var blocks slack.Blocks
	if err := json.Unmarshal([]byte(posts[0].form.Get("blocks")), &blocks); err != nil {
		t.Fatalf("blocks of the first post: %v", err)
	}
	if len(blocks.BlockSet) != 5 || blocks.BlockSet[0].BlockType() != slack.MBTHeader {
		t.Errorf("first post has %d blocks, want 5 starting with a header", len(blocks.BlockSet))
	}
	if text := posts[0].form.Get("text"); !strings.Contains(text, "g1 opens") || strings.Contains(text, "<!") {
		t.Errorf("fallback text = %q, want the escaped summary", text)
	}
}

func TestBotHonoursRateLimitAndRejects(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	var accepted []string
	srv := startSlacktest(t, func(c slacktest.Customize) {
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			mu.Lock()
			defer mu.Unlock()
			calls++
			w.Header().Set("Content-Type", "application/json")
			switch {
			case calls == 1:
				w.Header().Set("Retry-After", "0")
				w.WriteHeader(http.StatusTooManyRequests)
			case strings.Contains(r.Form.Get("text"), "invalid"):
				io.WriteString(w, `{"ok":false,"error":"invalid_blocks"}`)
			default:
				accepted = append(accepted, r.Form.Get("text"))
				io.WriteString(w, `{"ok":true,"channel":"C0ALERTS","ts":"1700000000.000100"}`)
			}
		})
	})
	s := newTestSink(t, botConfig(t, srv.GetAPIURL()), sinks.Options{}, internals{})
	send(t, s, groupAlert("g1", "valid"))
	waitFor(t, "the first alert", func() bool { mu.Lock(); defer mu.Unlock(); return len(accepted) == 1 })
	send(t, s, groupAlert("g2", "invalid"))
	// Wait for the rejection before sending g3: two alerts waiting together
	// would be merged into one message.
	waitFor(t, "the rejected alert", func() bool { mu.Lock(); defer mu.Unlock(); return calls == 3 })
	send(t, s, groupAlert("g3", "valid"))
	closeSink(t, s)

	mu.Lock()
	defer mu.Unlock()
	if len(accepted) != 2 || !strings.Contains(accepted[0], "g1") || !strings.Contains(accepted[1], "g3") {
		t.Errorf("accepted %q, want g1 after the 429, then g3", accepted)
	}
}

func TestClassifyAPIError(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		permanent  bool
		retryAfter time.Duration
		threadGone bool
	}{
		{name: "rate limited", err: &slack.RateLimitedError{RetryAfter: 30 * time.Second}, retryAfter: 30 * time.Second},
		{name: "server error", err: slack.StatusCodeError{Code: 503, Status: "503 Service Unavailable"}},
		{name: "bad request status", err: slack.StatusCodeError{Code: 400, Status: "400 Bad Request"}, permanent: true},
		{name: "invalid blocks", err: slack.SlackErrorResponse{Err: "invalid_blocks"}, permanent: true},
		{name: "channel not found", err: slack.SlackErrorResponse{Err: "channel_not_found"}},
		{name: "invalid auth", err: slack.SlackErrorResponse{Err: "invalid_auth"}},
		{name: "thread gone", err: slack.SlackErrorResponse{Err: "thread_not_found"}, threadGone: true},
		{name: "timeout", err: &url.Error{Op: "Post", URL: "https://slack.example/api/chat.postMessage", Err: context.DeadlineExceeded}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := classifyAPIError(tt.err)
			if got := sinkhttp.IsPermanent(err); got != tt.permanent {
				t.Errorf("permanent = %v, want %v (%v)", got, tt.permanent, err)
			}
			var ra *spool.RetryAfterError
			after := time.Duration(0)
			if errors.As(err, &ra) {
				after = ra.After
			}
			if after != tt.retryAfter {
				t.Errorf("retry after = %s, want %s", after, tt.retryAfter)
			}
			if got := errors.Is(err, errThreadGone); got != tt.threadGone {
				t.Errorf("thread gone = %v, want %v", got, tt.threadGone)
			}
			if strings.Contains(err.Error(), "slack.example") {
				t.Errorf("error %q quotes the request URL", err)
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "webhook", cfg: Config{Name: "s", WebhookURLEnv: "URL"}},
		{name: "bot", cfg: Config{Name: "s", TokenFile: "/t", Channel: "C1"}},
		{name: "no mode", cfg: Config{Name: "s"}, want: "webhook_url_file, webhook_url_env, token_file or token_env: missing"},
		{name: "both modes", cfg: Config{Name: "s", WebhookURLEnv: "U", TokenEnv: "T", Channel: "C"}, want: "not both"},
		{name: "two webhook sources", cfg: Config{Name: "s", WebhookURLEnv: "U", WebhookURLFile: "/u"}, want: "webhook_url_file and webhook_url_env: set only one"},
		{name: "bot without channel", cfg: Config{Name: "s", TokenEnv: "T"}, want: "channel: missing"},
		{name: "webhook with channel", cfg: Config{Name: "s", WebhookURLEnv: "U", Channel: "C"}, want: "channel: only for the bot token mode"},
		{name: "bad name", cfg: Config{Name: "a/b", WebhookURLEnv: "U"}, want: "invalid sink name"},
		{name: "bad api url", cfg: Config{Name: "s", TokenEnv: "T", Channel: "C", APIURL: "ftp://x"}, want: "api_url"},
		{name: "negative timeout", cfg: Config{Name: "s", WebhookURLEnv: "U", Timeout: -1}, want: "timeout: must not be negative"},
		{name: "spool keys", cfg: Config{Name: "s", WebhookURLEnv: "U", Config: spool.Config{MaxAlerts: -1}}, want: "spool_max_alerts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}
