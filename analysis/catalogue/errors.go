package catalogue

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors. Every problem found while loading is an *Error whose Err
// is one of these (or, for a file that cannot be read, the fs error), so
// callers match with errors.Is and never on message text.
var (
	ErrSyntax     = errors.New("catalogue: yaml syntax")
	ErrTooLarge   = errors.New("catalogue: file too large")
	ErrUnknownKey = errors.New("catalogue: unknown key")
	ErrInvalid    = errors.New("catalogue: invalid value")
	ErrMissing    = errors.New("catalogue: missing field")
	ErrDuplicate  = errors.New("catalogue: duplicate id")
	ErrDangling   = errors.New("catalogue: unknown reference")
)

// Error is one problem in one catalogue file. Path locates the field inside
// the file, e.g. "controls[3].layers[1]"; Line is 1-based, 0 when the
// problem concerns the file as a whole.
type Error struct {
	File string
	Line int
	Path string
	Msg  string
	Err  error
}

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

// Unwrap returns the sentinel (or fs error) classifying the problem.
func (e *Error) Unwrap() error { return e.Err }

// Errors is what a load returns when it found more than one problem, in
// file order and then line order.
type Errors struct {
	List []*Error
}

func (e *Errors) Error() string {
	msgs := make([]string, len(e.List))
	for i, x := range e.List {
		msgs[i] = x.Error()
	}
	return fmt.Sprintf("%d catalogue problems:\n%s", len(e.List), strings.Join(msgs, "\n"))
}

// Unwrap exposes every problem to errors.Is and errors.As.
func (e *Errors) Unwrap() []error {
	out := make([]error, len(e.List))
	for i, x := range e.List {
		out[i] = x
	}
	return out
}

// asError folds a problem list into nil, one *Error or an *Errors.
func asError(list []*Error) error {
	switch len(list) {
	case 0:
		return nil
	case 1:
		return list[0]
	}
	return &Errors{List: list}
}
