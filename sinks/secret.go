package sinks

import (
	"fmt"
	"os"
	"strings"
)

// ReadSecret returns a secret from the file at path, or else from the
// environment variable env, without surrounding white space. fileKey and
// envKey are the TOML keys that set path and env. Errors name these keys
// and never contain the secret.
func ReadSecret(fileKey, path, envKey, env string) (string, error) {
	switch {
	case path != "":
		data, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("%s: read secret: %w", fileKey, err)
		}
		secret := strings.TrimSpace(string(data))
		if secret == "" {
			return "", fmt.Errorf("%s: file %s is empty", fileKey, path)
		}
		return secret, nil
	case env != "":
		secret := strings.TrimSpace(os.Getenv(env))
		if secret == "" {
			return "", fmt.Errorf("%s: environment variable %s is unset or empty", envKey, env)
		}
		return secret, nil
	}
	return "", fmt.Errorf("%s or %s: missing, set one of them", fileKey, envKey)
}

// ValidateSecretKeys checks that at most one of a file key and an
// environment key is set, or exactly one when required is true.
func ValidateSecretKeys(fileKey, path, envKey, env string, required bool) error {
	switch {
	case path != "" && env != "":
		return fmt.Errorf("%s and %s: set only one", fileKey, envKey)
	case required && path == "" && env == "":
		return fmt.Errorf("%s or %s: missing, set one of them", fileKey, envKey)
	}
	return nil
}

// Redact returns err with every occurrence of each non-empty secret in its
// message replaced by "[redacted]". The result still unwraps to err, so
// errors.Is and errors.As work, but its own message is the only one that
// should be logged.
func Redact(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	changed := false
	for _, s := range secrets {
		if s != "" && strings.Contains(msg, s) {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
			changed = true
		}
	}
	if !changed {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
