package catalogue

import (
	"errors"

	"github.com/usapp/usapp/internal/yamlerr"
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

// Error is one problem in a catalogue file, and Errors the list a load
// returns when it found several (in file order, then line order): the shared
// shape of USaPP's YAML loaders.
type (
	Error  = yamlerr.Error
	Errors = yamlerr.Errors
)

// asError folds a problem list into nil, one *Error or an *Errors.
func asError(list []*Error) error { return yamlerr.Join(list) }
