// Package batch cuts work into the pieces AWS APIs and registries take at
// once, keeping the caller's order.
package batch

// Chunks splits items into slices of at most size, in order.
func Chunks[T any](items []T, size int) [][]T {
	var out [][]T
	for len(items) > size {
		out = append(out, items[:size:size])
		items = items[size:]
	}
	if len(items) > 0 {
		out = append(out, items)
	}
	return out
}

// GroupBy groups items by key, groups in order of each key's first
// appearance and items in their order within a group.
func GroupBy[T any](items []T, key func(T) string) [][]T {
	index := map[string]int{}
	var groups [][]T
	for _, it := range items {
		k := key(it)
		i, ok := index[k]
		if !ok {
			i = len(groups)
			index[k] = i
			groups = append(groups, nil)
		}
		groups[i] = append(groups[i], it)
	}
	return groups
}
