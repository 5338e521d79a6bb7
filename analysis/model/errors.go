package model

import (
	"cmp"
	"errors"
	"slices"

	"github.com/usapp/usapp/internal/yamlerr"
)

// Sentinel causes. Every *Error wraps exactly one of them, so callers match
// the kind of problem with errors.Is and never read the message.
var (
	ErrSyntax       = errors.New("model: yaml syntax")
	ErrType         = errors.New("model: wrong yaml type")
	ErrUnknownKey   = errors.New("model: unknown key")
	ErrUnknownValue = errors.New("model: unknown value")
	ErrMissing      = errors.New("model: required field missing")
	ErrInvalid      = errors.New("model: invalid value")
	ErrDuplicate    = errors.New("model: duplicate")
	ErrDangling     = errors.New("model: dangling reference")
	ErrInclude      = errors.New("model: include cannot be read")
	ErrIncludeCycle = errors.New("model: include cycle")
	ErrTooLarge     = errors.New("model: input too large")
	ErrTooDeep      = errors.New("model: includes nested too deep")
	ErrTooMany      = errors.New("model: too many errors")
)

// Error is one problem in a model file, and Errors every problem found,
// sorted by file, line and path (the loader returns *Errors when it found
// more than one): the shared shape of USaPP's YAML loaders.
type (
	Error  = yamlerr.Error
	Errors = yamlerr.Errors
)

// maxErrors keeps a hostile file from producing an unbounded report.
const maxErrors = 100

// collector gathers problems in the order found.
type collector struct {
	list Errors
	full bool
}

func (c *collector) add(e *Error) {
	if c.full {
		return
	}
	if len(c.list) == maxErrors {
		c.full = true
		c.list = append(c.list, &Error{File: e.File, Line: e.Line, Msg: "too many errors; stopped here", Err: ErrTooMany})
		return
	}
	c.list = append(c.list, e)
}

// err returns nil, the single *Error, or *Errors sorted for stable output.
func (c *collector) err() error {
	switch len(c.list) {
	case 0:
		return nil
	case 1:
		return c.list[0]
	}
	l := slices.Clone(c.list)
	body := l
	if c.full {
		body = l[:len(l)-1] // the "too many" marker stays last
	}
	slices.SortStableFunc(body, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Path, b.Path))
	})
	return &l
}
