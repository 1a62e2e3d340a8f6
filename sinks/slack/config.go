package slack

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/klaxon-agent/klaxon/sinks"
	"github.com/klaxon-agent/klaxon/sinks/spool"
)

// Defaults for the zero fields of Config.
const (
	DefaultAPIURL  = "https://slack.com/api/"
	DefaultTimeout = 10 * time.Second
)

// Config is the TOML table of one Slack sink. It runs in one of two modes:
// with an incoming webhook URL, or with a bot token and a channel, which
// posts through chat.postMessage and threads repeats under the first
// message. The URL and the token are read from files or environment
// variables named here, never written in the table.
type Config struct {
	// Name identifies the sink in routes, logs, metrics and the state folder.
	Name string `toml:"name"`

	WebhookURLFile string `toml:"webhook_url_file"`
	WebhookURLEnv  string `toml:"webhook_url_env"`

	TokenFile string `toml:"token_file"`
	TokenEnv  string `toml:"token_env"`
	// Channel is the channel ID, such as C0123456789, or name that the bot
	// posts to. The bot needs the chat:write scope and to be a member.
	Channel string `toml:"channel"`
	// APIURL is the base URL of Slack's Web API.
	APIURL string `toml:"api_url"`

	// Timeout bounds one request to Slack.
	Timeout sinks.Duration `toml:"timeout"`

	spool.Config
}

func (c Config) webhookMode() bool {
	return c.WebhookURLFile != "" || c.WebhookURLEnv != ""
}

// Validate reports every invalid field, naming its TOML key. It does not
// read the secrets; New does.
func (c Config) Validate() error {
	errs := []error{sinks.ValidateName(c.Name)}
	bot := c.TokenFile != "" || c.TokenEnv != ""
	switch {
	case c.webhookMode() && bot:
		errs = append(errs, errors.New("webhook_url_file/webhook_url_env and token_file/token_env: choose the webhook or the bot token, not both"))
	case c.webhookMode():
		errs = append(errs, sinks.ValidateSecretKeys("webhook_url_file", c.WebhookURLFile, "webhook_url_env", c.WebhookURLEnv, true))
		if c.Channel != "" {
			errs = append(errs, errors.New("channel: only for the bot token mode; an incoming webhook posts to the channel it was created for"))
		}
	case bot:
		errs = append(errs, sinks.ValidateSecretKeys("token_file", c.TokenFile, "token_env", c.TokenEnv, true))
		if c.Channel == "" {
			errs = append(errs, errors.New("channel: missing, the bot token mode needs the channel to post to"))
		}
	default:
		errs = append(errs, errors.New("webhook_url_file, webhook_url_env, token_file or token_env: missing, set one"))
	}
	if c.APIURL != "" {
		if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("api_url: %q is not an http or https URL", c.APIURL))
		}
	}
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout: must not be negative, got %s", time.Duration(c.Timeout)))
	}
	errs = append(errs, c.Config.Validate())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("slack sink %q: %w", c.Name, err)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.APIURL == "" {
		c.APIURL = DefaultAPIURL
	}
	if c.Timeout == 0 {
		c.Timeout = sinks.Duration(DefaultTimeout)
	}
	return c
}
