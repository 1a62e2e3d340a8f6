package spool

import (
	"errors"
	"fmt"
	"time"

	"github.com/klaxon-agent/klaxon/sinks"
)

// Defaults for the zero fields of Config.
const (
	DefaultMaxAlerts = 10000
	DefaultMaxBytes  = 64 << 20
	DefaultRetryMin  = time.Second
	DefaultRetryMax  = time.Minute
)

// Config bounds a sink's spool and sets its retry schedule. Backends embed
// it in their own Config, so its keys sit in the sink's TOML table. A zero
// field takes its default.
type Config struct {
	// MaxAlerts is how many undelivered alerts the spool keeps. When it is
	// full, the oldest alert of the lowest severity is dropped first.
	MaxAlerts int `toml:"spool_max_alerts"`
	// MaxBytes bounds the size of the spool folder's alert files.
	MaxBytes int64 `toml:"spool_max_bytes"`
	// RetryMin is the wait after the first failed delivery. Each further
	// failure doubles it, up to RetryMax, with random jitter of up to half.
	RetryMin sinks.Duration `toml:"retry_min"`
	// RetryMax caps the wait between two delivery attempts.
	RetryMax sinks.Duration `toml:"retry_max"`
}

// Validate reports every invalid field, naming its TOML key.
func (c Config) Validate() error {
	var errs []error
	if c.MaxAlerts < 0 {
		errs = append(errs, fmt.Errorf("spool_max_alerts: must not be negative, got %d", c.MaxAlerts))
	}
	if c.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("spool_max_bytes: must not be negative, got %d", c.MaxBytes))
	}
	if c.RetryMin < 0 {
		errs = append(errs, fmt.Errorf("retry_min: must not be negative, got %s", time.Duration(c.RetryMin)))
	}
	if c.RetryMax < 0 {
		errs = append(errs, fmt.Errorf("retry_max: must not be negative, got %s", time.Duration(c.RetryMax)))
	}
	d := c.withDefaults()
	if d.RetryMin > d.RetryMax {
		errs = append(errs, fmt.Errorf("retry_min: %s is longer than retry_max %s",
			time.Duration(d.RetryMin), time.Duration(d.RetryMax)))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	if c.MaxAlerts == 0 {
		c.MaxAlerts = DefaultMaxAlerts
	}
	if c.MaxBytes == 0 {
		c.MaxBytes = DefaultMaxBytes
	}
	if c.RetryMin == 0 {
		c.RetryMin = sinks.Duration(DefaultRetryMin)
	}
	if c.RetryMax == 0 {
		c.RetryMax = sinks.Duration(DefaultRetryMax)
	}
	return c
}
