package readmodel

import "strings"

// filter builds the WHERE clause of a list query from the filters a caller
// set, so each query names only the columns it filters on and SQLite can
// search an index on them (a condition that tests in SQL whether its
// argument is empty, as in "col = ?1 OR ?1 = empty", scans the whole table
// whatever the argument).
type filter struct {
	conds []string
	args  []any
}

// eq adds "col = v" when v is not empty.
func (f *filter) eq(col, v string) {
	if v != "" {
		f.add(col+" = ?", v)
	}
}

// add adds cond with its arguments.
func (f *filter) add(cond string, args ...any) {
	f.conds = append(f.conds, cond)
	f.args = append(f.args, args...)
}

// where is the WHERE clause ("" when there is no filter).
func (f *filter) where() string {
	if len(f.conds) == 0 {
		return ""
	}
	return "\n\t\tWHERE " + strings.Join(f.conds, " AND ")
}
