package ledger

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Errors about keys and checkpoints.
var (
	ErrBadKey        = errors.New("ledger: invalid signer name or key")
	ErrBadCheckpoint = errors.New("ledger: invalid checkpoint")
)

// maxCheckpoint bounds a signed checkpoint note; real ones are ~200 bytes.
const maxCheckpoint = 4096

// algEd25519 is the note signature algorithm byte for Ed25519 keys
// (golang.org/x/mod/sumdb/note, "Verifier keys").
const algEd25519 = 1

// ed25519Signer is a note.Signer over an Ed25519 key held by the caller.
type ed25519Signer struct {
	name string
	hash uint32
	key  ed25519.PrivateKey
}

var _ note.Signer = (*ed25519Signer)(nil)

func (s *ed25519Signer) Name() string                    { return s.name }
func (s *ed25519Signer) KeyHash() uint32                 { return s.hash }
func (s *ed25519Signer) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(s.key, msg), nil }

// validName follows the note rule: non-empty UTF-8 without spaces or '+'.
func validName(name string) bool {
	return name != "" && utf8.ValidString(name) &&
		strings.IndexFunc(name, unicode.IsSpace) < 0 && !strings.Contains(name, "+")
}

// NewSigner returns a note signer named name over an existing Ed25519 key.
// Its key hash follows the note rule: the first four bytes of
// SHA-256(name || "\n" || 0x01 || public key), big-endian.
func NewSigner(name string, key ed25519.PrivateKey) (note.Signer, error) {
	if !validName(name) || len(key) != ed25519.PrivateKeySize {
		return nil, ErrBadKey
	}
	pub := key.Public().(ed25519.PublicKey)
	h := sha256.New()
	h.Write([]byte(name + "\n"))
	h.Write([]byte{algEd25519})
	h.Write(pub)
	return &ed25519Signer{name: name, hash: binary.BigEndian.Uint32(h.Sum(nil)), key: key}, nil
}

// NewVerifier returns the note verifier for a signer made by [NewSigner].
func NewVerifier(name string, pub ed25519.PublicKey) (note.Verifier, error) {
	if !validName(name) {
		return nil, ErrBadKey
	}
	vkey, err := note.NewEd25519VerifierKey(name, pub)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	v, err := note.NewVerifier(vkey)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadKey, err)
	}
	return v, nil
}

// Checkpoint is the signed statement of a log's tree: C2SP tlog-checkpoint.
type Checkpoint struct {
	Origin string
	Size   int64
	Hash   tlog.Hash
}

// text returns the checkpoint body: origin, size and root hash lines.
func (c Checkpoint) text() string {
	return c.Origin + "\n" + strconv.FormatInt(c.Size, 10) + "\n" +
		base64.StdEncoding.EncodeToString(c.Hash[:]) + "\n"
}

// SignCheckpoint formats c and signs it as a note.
func SignCheckpoint(c Checkpoint, s note.Signer) ([]byte, error) {
	if !validOrigin(c.Origin) {
		return nil, ErrBadOrigin
	}
	if c.Size < 0 {
		return nil, ErrRange
	}
	signed, err := note.Sign(&note.Note{Text: c.text()}, s)
	if err != nil {
		return nil, fmt.Errorf("ledger: sign checkpoint: %w", err)
	}
	return signed, nil
}

// validOrigin requires a non-empty single line of printable UTF-8.
func validOrigin(o string) bool {
	if o == "" || !utf8.ValidString(o) || len(o) > 255 {
		return false
	}
	return strings.IndexFunc(o, func(r rune) bool { return !unicode.IsPrint(r) }) < 0
}

// ParseCheckpoint verifies a signed checkpoint with v and parses it. Any
// failure (size, signature, missing signature by v, format) is
// [ErrBadCheckpoint]. Extension lines after the root hash are ignored, as
// C2SP tlog-checkpoint allows. The origin is not compared here.
func ParseCheckpoint(signedNote []byte, v note.Verifier) (Checkpoint, error) {
	if len(signedNote) > maxCheckpoint {
		return Checkpoint{}, fmt.Errorf("%w: too large", ErrBadCheckpoint)
	}
	n, err := note.Open(signedNote, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("%w: %w", ErrBadCheckpoint, err)
	}
	return parseBody(n.Text)
}

func parseBody(text string) (Checkpoint, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 {
		return Checkpoint{}, fmt.Errorf("%w: too few lines", ErrBadCheckpoint)
	}
	if !validOrigin(lines[0]) {
		return Checkpoint{}, fmt.Errorf("%w: origin line", ErrBadCheckpoint)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return Checkpoint{}, fmt.Errorf("%w: size line", ErrBadCheckpoint)
	}
	raw, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(raw) != tlog.HashSize || base64.StdEncoding.EncodeToString(raw) != lines[2] {
		return Checkpoint{}, fmt.Errorf("%w: root hash line", ErrBadCheckpoint)
	}
	c := Checkpoint{Origin: lines[0], Size: size}
	copy(c.Hash[:], raw)
	return c, nil
}
