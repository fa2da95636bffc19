package clientv3

// SortTarget selects the field a Get sorts its keys by.
type SortTarget int

// SortOrder selects the direction of a sorted Get.
type SortOrder int

// Sort orders.
const (
	SortNone SortOrder = iota
	SortAscend
	SortDescend
)

// Sort targets.
const (
	SortByKey SortTarget = iota
	SortByVersion
	SortByCreateRevision
	SortByModRevision
	SortByValue
)

// SortOption is a sort target and order, as given to WithSort.
type SortOption struct {
	Target SortTarget
	Order  SortOrder
}
