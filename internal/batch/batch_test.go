package batch

import (
	"fmt"
	"testing"
)

func TestChunks(t *testing.T) {
	for n, want := range map[int]string{0: "[]", 1: "[[0]]", 10: "[[0 1 2 3 4 5 6 7 8 9]]", 11: "[[0 1 2 3 4 5 6 7 8 9] [10]]", 25: "[[0 1 2 3 4 5 6 7 8 9] [10 11 12 13 14 15 16 17 18 19] [20 21 22 23 24]]"} {
		items := make([]int, n)
		for i := range items {
			items[i] = i
		}
		got := Chunks(items, 10)
		if fmt.Sprint(got) != want {
			t.Errorf("Chunks(%d items, 10) = %v, want %s", n, got, want)
		}
		if len(got) > 0 && cap(got[0]) > 10 {
			t.Errorf("a chunk's capacity reaches into the next: appending to it would overwrite")
		}
	}
}

func TestGroupByKeepsFirstSeenOrder(t *testing.T) {
	got := GroupBy([]string{"b1", "a1", "b2", "c1", "a2"}, func(s string) string { return s[:1] })
	if fmt.Sprint(got) != "[[b1 b2] [a1 a2] [c1]]" {
		t.Errorf("GroupBy = %v", got)
	}
}
