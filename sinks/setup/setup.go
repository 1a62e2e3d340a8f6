// Package setup builds the sinks and routes of the agent's configuration
// file, whose [[sink]] tables contain a type and the keys of that type's
// Config.
//
//	[[sink]]
//	name = "slack-oncall"
//	type = "slack"
//	webhook_url_file = "/etc/klaxon/slack/webhook-url"
//
//	[[route]]
//	severities = ["critical"]
//	sinks = ["slack-oncall"]
package setup

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/BurntSushi/toml"

	"github.com/klaxon-agent/klaxon/sinks"
	"github.com/klaxon-agent/klaxon/sinks/loki"
	"github.com/klaxon-agent/klaxon/sinks/slack"
)

// Types of sink that a [[sink]] table may name.
const (
	TypeSlack = "slack"
	TypeLoki  = "loki"
)

// Config is the part of the agent's configuration file that this package
// reads. The agent embeds it in its own config struct and passes the
// toml.MetaData of the same decode to Decode. Keys that no sink type
// decodes then appear in the agent's MetaData.Undecoded check.
type Config struct {
	Sinks  []toml.Primitive `toml:"sink"`
	Routes []sinks.Route    `toml:"route"`
}

// Spec is one decoded and validated [[sink]] table.
type Spec struct {
	Name string
	Type string
	// Config is a slack.Config or a loki.Config.
	Config any
}

type header struct {
	Name string `toml:"name"`
	Type string `toml:"type"`
}

// Decode decodes and validates every [[sink]] table and the routes, and
// reports all problems at once. It opens nothing, so it also serves a
// configuration check.
func Decode(md *toml.MetaData, cfg Config) ([]Spec, error) {
	var specs []Spec
	var errs []error
	var names []string
	for i, prim := range cfg.Sinks {
		spec, err := decodeSink(md, prim)
		if err != nil {
			errs = append(errs, fmt.Errorf("sink[%d]: %w", i, err))
			continue
		}
		if slices.Contains(names, spec.Name) {
			errs = append(errs, fmt.Errorf("sink[%d]: name %q is used by an earlier sink", i, spec.Name))
			continue
		}
		names = append(names, spec.Name)
		specs = append(specs, spec)
	}
	if len(errs) == 0 {
		errs = append(errs, sinks.ValidateRoutes(cfg.Routes, names))
		var lokis []loki.Config
		for _, spec := range specs {
			if c, ok := spec.Config.(loki.Config); ok {
				lokis = append(lokis, c)
			}
		}
		// Two Loki sinks on one host would share the client's counters that
		// tell which alerts were delivered.
		errs = append(errs, loki.ValidateHosts(lokis))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return specs, nil
}

func decodeSink(md *toml.MetaData, prim toml.Primitive) (Spec, error) {
	var h header
	if err := md.PrimitiveDecode(prim, &h); err != nil {
		return Spec{}, err
	}
	spec := Spec{Name: h.Name, Type: h.Type}
	switch h.Type {
	case TypeSlack:
		var c slack.Config
		if err := md.PrimitiveDecode(prim, &c); err != nil {
			return Spec{}, err
		}
		spec.Config = c
		return spec, c.Validate()
	case TypeLoki:
		var c loki.Config
		if err := md.PrimitiveDecode(prim, &c); err != nil {
			return Spec{}, err
		}
		spec.Config = c
		return spec, c.Validate()
	case "":
		return Spec{}, fmt.Errorf("type: missing, set %q or %q", TypeSlack, TypeLoki)
	}
	return Spec{}, fmt.Errorf("type: unknown sink type %q (known: %s, %s)", h.Type, TypeSlack, TypeLoki)
}

// Open starts every sink of specs and returns a Router over them. When a
// sink fails to start, the ones already started are closed.
func Open(specs []Spec, routes []sinks.Route, opts sinks.Options) (*sinks.Router, error) {
	var named []sinks.Named
	for _, spec := range specs {
		s, err := open(spec, opts)
		if err != nil {
			for _, n := range named {
				_ = n.Sink.Close(context.Background())
			}
			return nil, err
		}
		named = append(named, sinks.Named{Name: spec.Name, Sink: s})
	}
	router, err := sinks.NewRouter(named, routes, opts.Logger)
	if err != nil {
		for _, n := range named {
			_ = n.Sink.Close(context.Background())
		}
		return nil, err
	}
	return router, nil
}

func open(spec Spec, opts sinks.Options) (sinks.Sink, error) {
	switch c := spec.Config.(type) {
	case slack.Config:
		return slack.New(c, opts)
	case loki.Config:
		return loki.New(c, opts)
	}
	return nil, fmt.Errorf("sink %q: unknown config type %T", spec.Name, spec.Config)
}
