// Package catalogue implements no control of its own: it is the pool the
// USaPP analysis method (USAPP.md section 4) chooses controls from, and the
// threats those controls answer.
//
// The catalogue holds four kinds of entry, embedded as YAML in data/:
//
//   - the nine subclasses of the framework (A1..C3) with their class;
//   - controls, identified as in the code ("A1.enrolment", "C3.load-hiding"),
//     each placed in its subclass and SGAM-like layers, with the threats it
//     mitigates, the requirements it serves, a relative cost from 1 to 10, the
//     service tags it delivers (so that overlapping controls can be found) and,
//     when this repository implements it, the Go package that does;
//   - threats: the thirteen EV-charging threats of the case study (ids
//     "EV.*"), the seven LINDDUN privacy threat types (Wuyts, Joosen et al.,
//     KU Leuven; ids "LINDDUN.L", "LINDDUN.I", "LINDDUN.N", "LINDDUN.D",
//     "LINDDUN.DD", "LINDDUN.U", "LINDDUN.NC") and failure scenarios of the
//     kind the NESCOR electric-sector failure-scenario catalogue lists, in our
//     own words (ids "NESCOR.AMI-01" ...; the numbering is ours, not NESCOR's);
//   - references: the nineteen security requirement families of NISTIR 7628
//     ("SG.AC" ... "SG.SI"), which threats and controls cite.
//
// Users extend or override the catalogue with their own files (Load): a new
// ID adds an entry, a known ID replaces it whole and the replacement is
// recorded as a Note. Files are decoded strictly from yaml.Node trees:
// unknown keys, wrong types, values outside the framework vocabulary, IDs
// repeated within a file, costs outside 1..10, and citations of threats or
// references that no file defines are errors naming file, line and field
// path. Anchors and aliases are refused, so a hostile file cannot expand.
//
// A *Catalogue is immutable once built and safe for concurrent use; lookups
// return copies. Default parses the embedded data once per process.
package catalogue
