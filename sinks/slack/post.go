package slack

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/slack-go/slack"

	"github.com/klaxon-agent/klaxon/sinks"
	"github.com/klaxon-agent/klaxon/sinks/internal/sinkhttp"
	"github.com/klaxon-agent/klaxon/sinks/spool"
)

// poster sends one message, as a reply when parent is set, and returns
// where the message went. Errors are already classified for the spool and
// hold no secret.
type poster interface {
	post(ctx context.Context, msg message, parent thread) (thread, error)
}

// webhookPoster posts to an incoming webhook. Slack's response to a webhook
// carries no message timestamp, so webhook messages cannot start threads.
type webhookPoster struct {
	client *http.Client
	cfg    Config
}

func (p *webhookPoster) post(ctx context.Context, msg message, _ thread) (thread, error) {
	target, err := sinks.ReadSecret("webhook_url_file", p.cfg.WebhookURLFile, "webhook_url_env", p.cfg.WebhookURLEnv)
	if err != nil {
		return thread{}, err
	}
	err = p.send(ctx, target, msg)
	return thread{}, sinks.Redact(err, target, webhookPath(target))
}

func (p *webhookPoster) send(ctx context.Context, target string, msg message) error {
	noUnfurl := false
	body, err := json.Marshal(&slack.WebhookMessage{
		Text:        msg.text,
		Blocks:      &slack.Blocks{BlockSet: msg.blocks},
		UnfurlLinks: &noUnfurl,
		UnfurlMedia: &noUnfurl,
	})
	if err != nil {
		return sinkhttp.Permanent(fmt.Errorf("encode webhook message: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("build webhook request: %w", sinkhttp.StripURL(err))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return fmt.Errorf("post to Slack webhook: %w", sinkhttp.StripURL(err))
	}
	defer sinkhttp.DrainAndClose(resp.Body)
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	return fmt.Errorf("post to Slack webhook: %w", sinkhttp.ResponseError(resp, time.Now()))
}

// webhookPath is the secret part of a webhook URL, in case an error
// quotes it without the host.
func webhookPath(target string) string {
	u, err := url.Parse(target)
	if err != nil || len(u.Path) < 10 {
		return ""
	}
	return u.Path
}

// botPoster posts with chat.postMessage and a bot token.
type botPoster struct {
	client *http.Client
	cfg    Config
}

func (p *botPoster) post(ctx context.Context, msg message, parent thread) (thread, error) {
	token, err := sinks.ReadSecret("token_file", p.cfg.TokenFile, "token_env", p.cfg.TokenEnv)
	if err != nil {
		return thread{}, err
	}
	// A client per message picks up a rotated token file.
	api := slack.New(token, slack.OptionHTTPClient(p.client), slack.OptionAPIURL(p.cfg.APIURL))
	channel := p.cfg.Channel
	opts := []slack.MsgOption{
		slack.MsgOptionText(msg.text, false),
		slack.MsgOptionBlocks(msg.blocks...),
		slack.MsgOptionDisableLinkUnfurl(),
		slack.MsgOptionDisableMediaUnfurl(),
	}
	if parent.TS != "" {
		channel = parent.Channel
		opts = append(opts, slack.MsgOptionTS(parent.TS))
	}
	gotChannel, ts, err := api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return thread{}, sinks.Redact(classifyAPIError(err), token)
	}
	return thread{Channel: gotChannel, TS: ts}, nil
}

// errThreadGone marks a reply whose parent Slack no longer accepts.
var errThreadGone = errors.New("thread not found")

// Slack Web API error codes that mean the message itself is invalid, so
// sending it again cannot succeed.
var invalidMessageErrors = map[string]bool{
	"invalid_blocks":        true,
	"invalid_blocks_format": true,
	"msg_too_long":          true,
	"msg_blocks_too_long":   true,
	"no_text":               true,
	"invalid_arguments":     true,
	"invalid_form_data":     true,
	"too_many_attachments":  true,
}

// classifyAPIError wraps a slack-go error for the spool: RetryAfterError for
// a rate limit, Permanent for an invalid message. Errors from a wrong
// token, channel or scope stay retryable, because an operator can fix them
// while the alerts wait in the spool.
func classifyAPIError(err error) error {
	err = fmt.Errorf("post to Slack: %w", sinkhttp.StripURL(err))
	var rateLimited *slack.RateLimitedError
	if errors.As(err, &rateLimited) {
		return &spool.RetryAfterError{After: rateLimited.RetryAfter, Err: err}
	}
	var status slack.StatusCodeError
	if errors.As(err, &status) {
		return fmt.Errorf("post to Slack: %w", &sinkhttp.StatusError{Code: status.Code})
	}
	var apiErr slack.SlackErrorResponse
	if errors.As(err, &apiErr) {
		switch {
		case invalidMessageErrors[apiErr.Err]:
			return sinkhttp.Permanent(err)
		// NOTE: These two codes for a parent that Slack no longer accepts
		// are assumed, not checked against Slack's documentation.
		case apiErr.Err == "thread_not_found" || apiErr.Err == "invalid_thread_ts":
			return fmt.Errorf("%w: %w", errThreadGone, err)
		}
	}
	return err
}
