package scanner

import (
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/BurntSushi/toml"
)

// multilineFile is the [multiline] table of a rules file.
type multilineFile struct {
	Off        bool                 `toml:"off"`
	MaxLines   *int                 `toml:"max_lines"`
	MaxBytes   *int                 `toml:"max_bytes"`
	Timeout    string               `toml:"timeout"`
	Containers []multilineContainer `toml:"container"`
}

// multilineContainer overrides the joining of the containers it selects.
type multilineContainer struct {
	Namespaces []string `toml:"namespaces"`
	Pods       []string `toml:"pods"`
	Containers []string `toml:"containers"`
	Off        bool     `toml:"off"`
	Start      string   `toml:"start"`
	Continue   string   `toml:"continue"`
}

// multilineRule is one compiled override.
type multilineRule struct {
	namespaces, pods, containers []string
	m                            Multiline
}

// multilineSettings is the joining configuration of a RuleSet.
type multilineSettings struct {
	defaults  Multiline
	overrides []multilineRule
	set       bool   // a rules file had a [multiline] table
	file      string // that file
}

// parseMultiline decodes the [multiline] table of one rules file from the
// primitive that ParseRules kept of it, so the file is parsed once.
func parseMultiline(name string, md *toml.MetaData, prim toml.Primitive) (multilineSettings, error) {
	out := multilineSettings{defaults: DefaultMultiline}
	if !md.IsDefined("multiline") {
		return out, nil
	}
	cfg := &multilineFile{}
	if err := md.PrimitiveDecode(prim, cfg); err != nil {
		return out, fmt.Errorf("%s: multiline: %w", name, err)
	}
	var unknown []error
	for _, key := range md.Undecoded() {
		if len(key) > 0 && key[0] == "multiline" {
			unknown = append(unknown, fmt.Errorf("%s: unknown key %q (allowed in [multiline]: off, max_lines, max_bytes, timeout, [[multiline.container]] with namespaces, pods, containers, off, start, continue)", name, key.String()))
		}
	}
	if len(unknown) > 0 {
		return out, errors.Join(unknown...)
	}
	out.set, out.file = true, name
	var errs []error
	fail := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s: %s", name, key, fmt.Sprintf(format, args...)))
	}
	out.defaults.Off = cfg.Off
	if cfg.MaxLines != nil {
		if *cfg.MaxLines < 1 || *cfg.MaxLines > 10000 {
			fail("multiline.max_lines", "%d is out of range (allowed: 1 to 10000)", *cfg.MaxLines)
		}
		out.defaults.MaxLines = *cfg.MaxLines
	}
	if cfg.MaxBytes != nil {
		if *cfg.MaxBytes < 1 || *cfg.MaxBytes > DefaultMaxLineBytes {
			fail("multiline.max_bytes", "%d is out of range (allowed: 1 to %d)", *cfg.MaxBytes, DefaultMaxLineBytes)
		}
		out.defaults.MaxBytes = *cfg.MaxBytes
	}
	if cfg.Timeout != "" {
		d, err := ParseDuration(cfg.Timeout)
		if err != nil || d <= 0 || d > time.Minute {
			fail("multiline.timeout", "invalid %q (allowed: a duration from 1ms to 1m, e.g. \"500ms\")", cfg.Timeout)
		}
		out.defaults.Timeout = d
	}
	for i, c := range cfg.Containers {
		where := fmt.Sprintf("multiline.container[%d]", i)
		m := out.defaults
		m.Off = c.Off
		var err error
		if m.Start, err = compileOptional(c.Start); err != nil {
			fail(where+".start", "invalid pattern: %v", err)
		}
		if m.Continue, err = compileOptional(c.Continue); err != nil {
			fail(where+".continue", "invalid pattern: %v", err)
		}
		if (m.Start == nil) != (m.Continue == nil) {
			fail(where, "start and continue must be given together")
		}
		if len(c.Namespaces)+len(c.Pods)+len(c.Containers) == 0 {
			fail(where, "selects nothing; give namespaces, pods or containers")
		}
		out.overrides = append(out.overrides, multilineRule{namespaces: c.Namespaces, pods: c.Pods, containers: c.Containers, m: m})
	}
	return out, errors.Join(errs...)
}

func compileOptional(pattern string) (*regexp.Regexp, error) {
	if pattern == "" {
		return nil, nil
	}
	return regexp.Compile(pattern)
}

// Multiline returns the joining settings for a source: the first override
// whose selectors all accept it, else the defaults. It returns nil when
// joining is off for the source.
func (rs *RuleSet) Multiline(src *Source) *Multiline {
	m := &rs.multiline.defaults
	for i := range rs.multiline.overrides {
		o := &rs.multiline.overrides[i]
		if globsMatch(o.namespaces, src.Namespace) && globsMatch(o.pods, src.Pod) && globsMatch(o.containers, src.Container) {
			m = &o.m
			break
		}
	}
	if m.Off || m.MaxLines == 0 {
		return nil
	}
	return m
}

// globsMatch is globsAccept for overrides: an unknown field does not match a
// non-empty selector, so an override never applies to files it cannot place.
func globsMatch(globs []string, value string) bool {
	if len(globs) == 0 {
		return true
	}
	return value != "" && globsAccept(globs, value)
}
