package analysis

import "errors"

// Sentinel errors of Analyze, matched with errors.Is.
var (
	// ErrNilInput: the model or catalogue is nil.
	ErrNilInput = errors.New("analysis: nil model or catalogue")
	// ErrUnknownThreat: a rule raised a threat the catalogue does not define.
	ErrUnknownThreat = errors.New("analysis: rule raised a threat unknown to the catalogue")
	// ErrUnknownControl: the model deploys a control the catalogue does not define.
	ErrUnknownControl = errors.New("analysis: model deploys a control unknown to the catalogue")
)
