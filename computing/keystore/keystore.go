package keystore

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/scrypt"

	"github.com/usapp/usapp/framework"
	"github.com/usapp/usapp/internal/durable"
)

// Sentinel errors; messages never carry key material or passphrases.
var (
	ErrNotFound        = errors.New("keystore: key not found")
	ErrExists          = errors.New("keystore: key already exists")
	ErrBadName         = errors.New("keystore: bad key name")
	ErrCorrupt         = errors.New("keystore: file corrupt or tampered")
	ErrWrongPassphrase = errors.New("keystore: wrong passphrase")
	ErrUnsupportedKey  = errors.New("keystore: unsupported key type")
)

// Keystore is what roles need from a key store, small enough for a PKCS#11
// backend to implement later.
type Keystore interface {
	Get(name string) (crypto.PrivateKey, error)
	Put(name string, key crypto.PrivateKey) error
	List() ([]string, error)
	// Delete destroys a key that is no longer needed (ErrNotFound if
	// there is none).
	Delete(name string) error
}

var _ Keystore = (*FileStore)(nil)

// scrypt parameters for new stores. Open accepts a larger N (a later release
// may raise it) but never smaller ones, so that whoever can edit
// keystore.json cannot downgrade the KDF the next passphrase goes through.
const (
	scryptN    = 1 << 15
	scryptR    = 8
	scryptP    = 1
	maxScryptN = 1 << 20
	saltLen    = 32
	kekLen     = 32 // AES-256
	keySuffix  = ".key"
	metaFile   = "keystore.json"
	metaMax    = 4 << 10
	checkLabel = "usapp keystore key-check v1"
)

var nameRE = regexp.MustCompile(`^[a-zA-Z0-9._-]{1,128}$`)

// meta is keystore.json.
type meta struct {
	Version int    `json:"version"`
	KDF     string `json:"kdf"`
	N       int    `json:"n"`
	R       int    `json:"r"`
	P       int    `json:"p"`
	Salt    []byte `json:"salt"`
	Check   []byte `json:"check"`
}

// FileStore keeps each key sealed in its own file under one directory.
type FileStore struct {
	dir string
	n   int

	mu   sync.Mutex // cipher.AEAD does not promise concurrent use
	aead cipher.AEAD
}

// Open opens the store in dir, creating the directory and keystore.json when
// absent. The passphrase goes through scrypt once, here; ErrWrongPassphrase
// if it does not match the store's check value.
func Open(dir string, passphrase []byte) (*FileStore, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	if len(passphrase) == 0 {
		return nil, fmt.Errorf("empty passphrase: %w", ErrWrongPassphrase)
	}
	m, err := loadMeta(dir)
	if errors.Is(err, fs.ErrNotExist) {
		s, cerr := create(dir, passphrase)
		if !errors.Is(cerr, ErrExists) {
			return s, cerr
		}
		m, err = loadMeta(dir) // another process created it first
	}
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	kek, err := scrypt.Key(passphrase, m.Salt, m.N, m.R, m.P, kekLen)
	if err != nil {
		return nil, fmt.Errorf("keystore: derive key: %w", err)
	}
	defer clear(kek)
	if !hmac.Equal(checkValue(kek), m.Check) {
		return nil, ErrWrongPassphrase
	}
	return newStore(dir, kek, m.N)
}

// create makes a new keystore.json for passphrase.
func create(dir string, passphrase []byte) (*FileStore, error) {
	m := meta{Version: 1, KDF: "scrypt", N: scryptN, R: scryptR, P: scryptP, Salt: make([]byte, saltLen)}
	if _, err := rand.Read(m.Salt); err != nil {
		return nil, fmt.Errorf("keystore: salt: %w", err)
	}
	kek, err := scrypt.Key(passphrase, m.Salt, m.N, m.R, m.P, kekLen)
	if err != nil {
		return nil, fmt.Errorf("keystore: derive key: %w", err)
	}
	defer clear(kek)
	m.Check = checkValue(kek)
	raw, err := json.MarshalIndent(m, "", "\t")
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	if err := writeExclusive(dir, metaFile, raw); err != nil {
		return nil, err
	}
	return newStore(dir, kek, m.N)
}

func newStore(dir string, kek []byte, n int) (*FileStore, error) {
	block, err := aes.NewCipher(kek)
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	return &FileStore{dir: dir, n: n, aead: aead}, nil
}

// checkValue lets Open recognise the right passphrase without decrypting a
// key; it reveals nothing about the KEK beyond one PRF output.
func checkValue(kek []byte) []byte {
	mac := hmac.New(sha256.New, kek)
	mac.Write([]byte(checkLabel))
	return mac.Sum(nil)
}

func loadMeta(dir string) (meta, error) {
	raw, err := readBounded(filepath.Join(dir, metaFile), metaMax)
	if err != nil {
		return meta{}, err
	}
	var m meta
	if err := json.Unmarshal(raw, &m); err != nil {
		return meta{}, fmt.Errorf("%s: %w", metaFile, ErrCorrupt)
	}
	if m.Version != 1 || m.KDF != "scrypt" || m.N < scryptN || m.N > maxScryptN || m.N&(m.N-1) != 0 ||
		m.R != scryptR || m.P != scryptP || len(m.Salt) != saltLen || len(m.Check) != sha256.Size {
		return meta{}, fmt.Errorf("%s parameters: %w", metaFile, ErrCorrupt)
	}
	return m, nil
}

// Control describes the active B1.keys-at-rest control for GET /controls.
func (s *FileStore) Control() framework.Active {
	return framework.Active{ID: framework.KeysAtRest, Params: map[string]string{
		"backend": "file", "kdf": "scrypt", "scrypt_n": strconv.Itoa(s.n),
		"scrypt_r": strconv.Itoa(scryptR), "scrypt_p": strconv.Itoa(scryptP), "aead": "aes-256-gcm",
	}}
}

// Get returns the key stored under name: ErrNotFound if there is none,
// ErrCorrupt if its file was edited, truncated or renamed.
func (s *FileStore) Get(name string) (crypto.PrivateKey, error) {
	if !nameRE.MatchString(name) {
		return nil, ErrBadName
	}
	raw, err := readBounded(s.path(name), maxKeyFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("keystore: read %s: %w", name, err)
	}
	s.mu.Lock()
	key, err := openKeyFile(s.aead, name, raw)
	s.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", name, err)
	}
	return key, nil
}

// Put seals key under name. It never replaces a key: ErrExists.
func (s *FileStore) Put(name string, key crypto.PrivateKey) error {
	if !nameRE.MatchString(name) {
		return ErrBadName
	}
	s.mu.Lock()
	sealed, err := sealKeyFile(s.aead, name, key)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if err := writeExclusive(s.dir, name+keySuffix, sealed); err != nil {
		return fmt.Errorf("key %s: %w", name, err)
	}
	return nil
}

// Delete removes the named key's file durably. The file only ever held the
// key sealed under the passphrase-derived key, so what removal leaves on the
// medium is ciphertext.
func (s *FileStore) Delete(name string) error {
	if !nameRE.MatchString(name) {
		return ErrBadName
	}
	err := durable.Remove(s.path(name))
	if errors.Is(err, fs.ErrNotExist) {
		return ErrNotFound
	}
	if err != nil {
		return fmt.Errorf("key %s: %w", name, err)
	}
	return nil
}

// List returns the names of the stored keys, sorted.
func (s *FileStore) List() ([]string, error) {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("keystore: %w", err)
	}
	var names []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), keySuffix)
		if ok && e.Type().IsRegular() && nameRE.MatchString(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names, nil
}

func (s *FileStore) path(name string) string { return filepath.Join(s.dir, name+keySuffix) }

// GenerateEd25519 creates an Ed25519 key and stores it under name.
func GenerateEd25519(ks Keystore, name string) (ed25519.PrivateKey, error) {
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("keystore: generate: %w", err)
	}
	if err := ks.Put(name, key); err != nil {
		return nil, err
	}
	return key, nil
}

// readBounded reads a whole file, refusing anything over limit bytes.
func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(raw)) > limit {
		return nil, fmt.Errorf("%s larger than %d bytes: %w", filepath.Base(path), limit, ErrCorrupt)
	}
	return raw, nil
}

// writeExclusive writes dir/name durably, failing with ErrExists if it is
// already there (durable.CreateFile never replaces a file).
func writeExclusive(dir, name string, data []byte) error {
	err := durable.CreateFile(filepath.Join(dir, name), data, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return ErrExists
	}
	if err != nil {
		return fmt.Errorf("keystore: write: %w", err)
	}
	return nil
}
