package sinks

import (
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/klaxon-agent/klaxon/scanner"
)

// Options are the logger, metrics registerer and state folder that every
// backend constructor takes besides its Config.
type Options struct {
	// Logger receives the sink's logs. A nil Logger discards them.
	Logger *slog.Logger
	// Registerer receives the sink's metrics. A nil Registerer leaves them
	// unregistered.
	Registerer prometheus.Registerer
	// StateDir is the agent's state folder. A sink keeps its spool and other
	// files under StateDir/sinks/<name>.
	StateDir string
}

// ErrInvalidName reports a sink name that cannot be used as a folder name
// and a metric label.
var ErrInvalidName = errors.New("invalid sink name")

var namePattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]{0,63}$`)

// ValidateName checks that name is 1 to 64 letters, digits, '-' or '_',
// starting with a letter or digit, so it is safe as a folder name.
func ValidateName(name string) error {
	if !namePattern.MatchString(name) {
		return fmt.Errorf("%w %q: use 1 to 64 letters, digits, '-' or '_', starting with a letter or digit", ErrInvalidName, name)
	}
	return nil
}

// Dir returns the folder that holds the files of the sink called name.
func (o Options) Dir(name string) string {
	return filepath.Join(o.StateDir, "sinks", name)
}

// LoggerOrDiscard returns o.Logger, or a logger that drops everything when
// it is nil.
func (o Options) LoggerOrDiscard() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// Duration is a time.Duration read from a TOML string such as "30s", "10m"
// or "1d"; integers are rejected.
type Duration = scanner.Duration
