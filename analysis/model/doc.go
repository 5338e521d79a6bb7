// Package model implements no control of its own: it is the input of the
// USaPP analysis method (USAPP.md section 4), a system described as
// stakeholders, use cases, components, trust boundaries, data flows,
// requirements and the controls already deployed (IDs such as A1.enrolment or
// C3.load-hiding). Rules, the analysis engine and reports read a *Model; this
// package holds no analysis logic.
//
// # Loading
//
// Load reads a YAML file and the files it includes; LoadFS does the same over
// an fs.FS; Parse reads one in-memory document that has no includes. Loading
// is strict: unknown keys, values outside a closed vocabulary, dangling
// references, duplicate IDs, include cycles and unreadable includes are all
// errors. Every error is an *Error naming the file, the 1-based line and the
// field path ("flows[2].protection.encrypted"); when there are several the
// loader returns *Errors, sorted by file and line. Each wraps a sentinel
// (ErrUnknownKey, ErrDangling, ...) for errors.Is. Inputs are bounded: 1 MiB
// per file (MaxFileSize), 16 levels of includes (MaxIncludeDepth), 256 files,
// and a node budget against alias expansion. The loader never panics.
//
// # Format
//
// A model file is one YAML document with these top-level keys, all optional
// in an included file; schema.json (JSON Schema draft 2020-12, also returned
// by Schema) describes the same keys, and a test keeps the two in step.
//
//	model:             name (required in the root file), description, version,
//	                   includes: [paths relative to this file]
//	stakeholders:      - id, name, goals: [text],
//	                     trusts: {stakeholder-id: 0..1}
//	use_cases:         - id, name, description, stakeholders: [ids],
//	                     requirements: [requirement], flows: [flow ids]
//	components:        - id, name, description, type, owner (stakeholder id),
//	                     domain, category, layer, trust_boundary (id)
//	trust_boundaries:  - id, name, kind
//	flows:             - id, description, from, to (component ids),
//	                     data: [{category, kind, frequency, attributable}],
//	                     protection: {authenticated, encrypted, integrity,
//	                       replay_protected, anonymised, aggregated_min_k},
//	                     via: [component ids], consent: [stakeholder ids]
//	requirements:      - requirement, at (component or flow id), rationale
//	controls:          - id (control ID), at (component or flow id),
//	                     params: {name: value}
//	not_applicable:    - finding (finding id), reason
//
// Vocabularies: domain, category, layer, requirement and data category come
// from package framework; component type (ComponentTypes), trust boundary
// kind (BoundaryKinds), data kind (DataKinds) and encryption (Encryptions:
// end-to-end, hop, none) are defined here. A frequency is the period between
// items, as a Go duration ("30m", "1s") or whole days ("1d"); omitted means
// event-driven. Protection keys default to the unprotected value, so a model
// never claims a protection by omission. Control IDs are checked for form
// only (framework.ControlID.Validate); whether the catalogue knows them is the
// analysis engine's question.
//
// # Identity and includes
//
// IDs (letters, digits, '.', '_', '-', at most 64) share one namespace across
// stakeholders, trust boundaries, components, flows and use cases, so an "at"
// reference is never ambiguous. An include is merged after the including
// file's own elements, depth first; a file reached twice (a diamond) is merged
// once, while a file that includes one of its includers is a cycle. A
// duplicate ID names both declarations. Only the root file's model name,
// description and version count.
//
// # Use
//
// A loaded Model is indexed: Component, Flow, Stakeholder, TrustBoundary,
// UseCase, FlowsFrom and FlowsTo are map lookups. Models built in Go work
// without the index (lookups scan); Reindex builds it. Concurrent reads are
// safe; Reindex and edits are writes. Hash digests the content, ignoring file
// layout, order of declarations and positions, so a diff can tell whether two
// models differ at all.
package model

import _ "embed"

//go:embed schema.json
var schemaJSON []byte

// Schema returns the JSON Schema (draft 2020-12) of a model file.
func Schema() []byte { return append([]byte(nil), schemaJSON...) }
