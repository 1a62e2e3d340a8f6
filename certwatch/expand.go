package certwatch

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// maxFiles limits how many files one pattern may yield, so that a pattern
// such as "/" fails instead of reading the whole disk.
const maxFiles = 10000

// Expand returns the regular files that patterns name, sorted and without
// duplicates. A pattern is a path or a filepath.Match glob, and a directory
// that it matches is walked recursively. Symbolic links to files are
// followed and links to directories are not. A pattern that matches nothing
// is not an error, because one configuration serves nodes with and without
// a control plane. On an error, Expand still returns the files it found.
func Expand(patterns []string) ([]string, error) {
	var (
		files []string
		errs  []error
	)
	for _, pattern := range patterns {
		found, err := expandPattern(pattern)
		files = append(files, found...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	slices.Sort(files)
	return slices.Compact(files), errors.Join(errs...)
}

func expandPattern(pattern string) ([]string, error) {
	matches, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("expand %q: %w", pattern, err)
	}

	var (
		files []string
		errs  []error
	)
	for _, match := range matches {
		info, err := os.Stat(match)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			continue // a dangling symbolic link
		case err != nil:
			errs = append(errs, err)
		case info.IsDir():
			files, err = walkDir(match, files)
			if err != nil {
				errs = append(errs, err)
			}
		case info.Mode().IsRegular():
			files = append(files, match)
		}
		if len(files) > maxFiles {
			return files[:maxFiles], fmt.Errorf("expand %q: more than %d files; use a narrower pattern", pattern, maxFiles)
		}
	}
	return files, errors.Join(errs...)
}

// walkDir appends the regular files under dir to files. It skips directories
// whose name starts with "..": Kubernetes mounts a secret or config map as
// such a directory plus symbolic links to its files, so reading both would
// find every certificate twice.
func walkDir(dir string, files []string) ([]string, error) {
	var errs []error
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		if d.IsDir() {
			if path != dir && strings.HasPrefix(d.Name(), "..") {
				return filepath.SkipDir
			}
			return nil
		}
		if len(files) > maxFiles {
			return filepath.SkipAll
		}
		info, err := os.Stat(path) // follows a symbolic link, unlike d.Type
		if err == nil && info.Mode().IsRegular() {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return files, errors.Join(errs...)
}
