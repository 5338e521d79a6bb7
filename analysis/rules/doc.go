// Package rules implements no control of its own: it holds the threat rules
// of the USaPP analysis method (USAPP.md section 4), each a small, pure check
// over a model.Model that names catalogue threats (EV.*, LINDDUN.*,
// NESCOR.*) an element of the model is exposed to.
//
// The layout follows the rule registry of threat-modelling tools such as
// Threagile: one rule per *_rule.go file, each with its own test, and one
// explicit list (All) that registers them, sorted by ID. Adding a rule means
// adding a file and a line to that list; nothing registers itself.
//
// # What a rule says
//
// A rule describes exposure, not residual risk: it fires on structure
// (what a flow carries, between whom, with which protections) and leaves the
// question "is a deployed control already answering this?" to the analysis
// engine (package analysis), which matches model.controls against the
// catalogue and marks the finding mitigated. That keeps a finding visible in
// the report, with the control that answers it, instead of silently vanishing.
//
// Invariants, tested: every threat a rule raises is one it declares in
// Threats, and every declared threat exists in the default catalogue; a
// flow that is authenticated, integrity-protected, replay-protected and
// encrypted end to end raises no false-signal or tampering threat. Rules are
// stateless and safe for concurrent use; Check only reads the model.
package rules
