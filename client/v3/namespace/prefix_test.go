package namespace

import (
	"bytes"
	"testing"
)

func TestRangeEndTranslation(t *testing.T) {
	tests := []struct {
		name string
		end  []byte
		want []byte
	}{
		{"no end stays a single key", nil, nil},
		{"to-the-end marker becomes end of namespace", []byte{0}, []byte("ns0")},
		{"explicit end gets the prefix", []byte("b"), []byte("ns/b")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rangeEnd("ns/", tt.end); !bytes.Equal(got, tt.want) {
				t.Errorf("rangeEnd(ns/, %q) = %q, want %q", tt.end, got, tt.want)
			}
		})
	}
}

func TestRangeEndOfEmptyPrefixIsWholeKeyspace(t *testing.T) {
	if got := rangeEnd("", []byte{0}); !bytes.Equal(got, []byte{0}) {
		t.Errorf("rangeEnd(\"\", \\x00) = %q, want \\x00", got)
	}
}

func TestTrimLeavesForeignKeysAlone(t *testing.T) {
	if got := trim("ns/", []byte("ns/a")); string(got) != "a" {
		t.Errorf("trim(ns/a) = %q, want a", got)
	}
	if got := trim("ns/", []byte("other")); string(got) != "other" {
		t.Errorf("trim(other) = %q, want other", got)
	}
}
