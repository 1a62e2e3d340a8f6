package sinks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"

	"github.com/klaxon-agent/klaxon/scanner"
)

// Route sends the alerts it matches to the named sinks. An alert matches
// when its rule is in Rules, or Rules is empty, and its severity is in
// Severities, or Severities is empty. A route with neither is the default
// route, which receives the alerts that no other route matched.
type Route struct {
	Rules      []string           `toml:"rules"`
	Severities []scanner.Severity `toml:"severities"`
	Sinks      []string           `toml:"sinks"`
}

func (r Route) isDefault() bool {
	return len(r.Rules) == 0 && len(r.Severities) == 0
}

func (r Route) matches(a *scanner.Alert) bool {
	if len(r.Rules) > 0 && !slices.Contains(r.Rules, a.Rule) {
		return false
	}
	return len(r.Severities) == 0 || slices.Contains(r.Severities, a.Severity)
}

// Named is a sink with the name that routes use for it.
type Named struct {
	Name string
	Sink Sink
}

// Router is a Sink that passes each alert to the sinks of every route it
// matches, each sink once. Without routes, every alert goes to every sink.
type Router struct {
	sinks    []Named
	routes   []Route
	log      *slog.Logger
	unrouted sync.Map // rule and severity pairs already logged as unrouted
}

var _ Sink = (*Router)(nil)

// ValidateRoutes reports every route that names an unknown sink or lists no
// sink, a second default route, and a sink that no route uses.
func ValidateRoutes(routes []Route, sinkNames []string) error {
	var errs []error
	used := map[string]bool{}
	defaults := 0
	for i, r := range routes {
		if len(r.Sinks) == 0 {
			errs = append(errs, fmt.Errorf("route[%d].sinks: missing, list at least one sink name", i))
		}
		for _, name := range r.Sinks {
			if !slices.Contains(sinkNames, name) {
				errs = append(errs, fmt.Errorf("route[%d].sinks: unknown sink %q (configured: %v)", i, name, sinkNames))
			}
			used[name] = true
		}
		for j, rule := range r.Rules {
			if rule == "" {
				errs = append(errs, fmt.Errorf("route[%d].rules[%d]: empty rule name", i, j))
			}
		}
		if r.isDefault() {
			defaults++
			if defaults == 2 {
				errs = append(errs, fmt.Errorf("route[%d]: second default route (no rules and no severities), keep only one", i))
			}
		}
	}
	if len(routes) > 0 {
		for _, name := range sinkNames {
			if !used[name] {
				errs = append(errs, fmt.Errorf("sink %q: not used by any route, add it to a route's sinks or remove it", name))
			}
		}
	}
	return errors.Join(errs...)
}

// CheckRuleNames reports the rule names in routes that are not in known,
// which is usually a typo that would leave the route unused.
func CheckRuleNames(routes []Route, known []string) error {
	var errs []error
	for i, r := range routes {
		for j, rule := range r.Rules {
			if !slices.Contains(known, rule) {
				errs = append(errs, fmt.Errorf("route[%d].rules[%d]: no rule is named %q", i, j, rule))
			}
		}
	}
	return errors.Join(errs...)
}

// NewRouter returns a Router over sinks. The Router owns the sinks, so its
// Close closes them.
func NewRouter(sinks []Named, routes []Route, log *slog.Logger) (*Router, error) {
	names := make([]string, 0, len(sinks))
	for _, s := range sinks {
		if slices.Contains(names, s.Name) {
			return nil, fmt.Errorf("sink %q: duplicate name", s.Name)
		}
		names = append(names, s.Name)
	}
	if err := ValidateRoutes(routes, names); err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Router{sinks: sinks, routes: routes, log: log}, nil
}

// Targets returns the names of the sinks that receive a, in the order the
// routes name them.
func (r *Router) Targets(a *scanner.Alert) []string {
	if len(r.routes) == 0 {
		names := make([]string, len(r.sinks))
		for i, s := range r.sinks {
			names[i] = s.Name
		}
		return names
	}
	var names []string
	var fallback []string
	for _, route := range r.routes {
		if route.isDefault() {
			fallback = route.Sinks
			continue
		}
		if route.matches(a) {
			for _, name := range route.Sinks {
				if !slices.Contains(names, name) {
					names = append(names, name)
				}
			}
		}
	}
	if len(names) == 0 {
		return fallback
	}
	return names
}

// Send passes a to each target sink in turn and joins their errors. When
// one sink fails after another accepted a, a retry of the whole Send gives
// the first sink a duplicate.
func (r *Router) Send(ctx context.Context, a *scanner.Alert) error {
	targets := r.Targets(a)
	if len(targets) == 0 {
		// Without a default route such alerts go nowhere by design. Log that
		// once per rule and severity, rather than never or on every alert.
		key := a.Rule + "\x00" + a.Severity.String()
		if _, seen := r.unrouted.LoadOrStore(key, true); !seen {
			r.log.Warn("no route matches alerts of this rule and severity; they are not sent", "rule", a.Rule, "severity", a.Severity.String())
		}
		return nil
	}
	var errs []error
	for _, name := range targets {
		if err := r.sink(name).Send(ctx, a); err != nil {
			errs = append(errs, fmt.Errorf("send to sink %s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Sinks returns the Router's sinks with their names, in the order they
// were given to NewRouter. The Router still owns them.
func (r *Router) Sinks() []Named { return slices.Clone(r.sinks) }

func (r *Router) sink(name string) Sink {
	for _, s := range r.sinks {
		if s.Name == name {
			return s.Sink
		}
	}
	// NewRouter checked every name the routes use.
	panic("sinks: route names unknown sink " + name)
}

// Close closes all sinks at once, so each drains within the same ctx, and
// joins their errors.
func (r *Router) Close(ctx context.Context) error {
	errs := make([]error, len(r.sinks))
	var wg sync.WaitGroup
	for i, s := range r.sinks {
		wg.Go(func() {
			if err := s.Sink.Close(ctx); err != nil {
				errs[i] = fmt.Errorf("close sink %s: %w", s.Name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}
