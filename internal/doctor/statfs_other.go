//go:build !unix

package doctor

import "errors"

func diskFree(string) (int64, int64, error) {
	return 0, 0, errors.New("disk space is measured on unix systems only")
}
