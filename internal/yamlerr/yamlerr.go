// Package yamlerr is the one error shape of USaPP's YAML loaders (the
// analysis model and the catalogue): a problem at a file, line and field
// path, classified by a sentinel cause, and the list a loader returns when it
// found several. Loaders re-export the types as their own (type aliases), so
// callers match them with errors.As on the loader's package.
package yamlerr

import (
	"fmt"
	"strings"
)

// Error is one problem in a YAML file.
type Error struct {
	File string // the file as named by the caller or the including file
	Line int    // 1-based; 0 when the problem concerns the whole file
	Path string // field path inside the file, e.g. "flows[2].protection.encrypted"; "" for the whole file
	Msg  string // what is wrong, lowercase, without file, line or path
	Err  error  // the sentinel classifying the problem, possibly joined with a more specific error
}

// Error prints "file:line: path: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	if e.Path != "" {
		b.WriteString(": ")
		b.WriteString(e.Path)
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Unwrap gives the sentinel cause.
func (e *Error) Unwrap() error { return e.Err }

// Errors is every problem a load found, one per line when printed.
type Errors []*Error

func (l *Errors) Error() string {
	lines := make([]string, len(*l))
	for i, e := range *l {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap gives the individual problems, so errors.Is and errors.As see each.
func (l *Errors) Unwrap() []error {
	out := make([]error, len(*l))
	for i, e := range *l {
		out[i] = e
	}
	return out
}

// Join folds a problem list into nil, the single *Error, or an *Errors.
func Join(list []*Error) error {
	switch len(list) {
	case 0:
		return nil
	case 1:
		return list[0]
	}
	l := Errors(list)
	return &l
}
