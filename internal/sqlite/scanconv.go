package sqlite

import (
	"bytes"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"reflect"
	"strconv"
)

// assign stores src, a column's value as the driver gives it (int64,
// float64, string, []byte or nil), in dest with database/sql's conversion
// rules: what Rows.Scan would store, or an error where it would fail.
// TestScan_ConvertsAsDatabaseSQL holds it to database/sql.
func assign(dest any, src driver.Value) error {
	switch d := dest.(type) {
	case *string:
		if t, ok := textOf(src); ok {
			*d = t
			return nil
		}
	case *[]byte:
		switch s := src.(type) {
		case nil:
			*d = nil
			return nil
		case []byte:
			*d = bytes.Clone(s)
			return nil
		}
		if t, ok := textOf(src); ok {
			*d = []byte(t)
			return nil
		}
	case *any:
		if b, ok := src.([]byte); ok {
			*d = bytes.Clone(b)
		} else {
			*d = src
		}
		return nil
	case *bool:
		v, err := driver.Bool.ConvertValue(src)
		if err != nil {
			return err
		}
		*d = v.(bool)
		return nil
	case *sql.RawBytes:
		return errors.New("sql: RawBytes is not supported by this reader")
	case sql.Scanner:
		return d.Scan(src)
	}
	return assignReflect(dest, src)
}

// assignReflect is assign for the other destinations: numbers of every
// size, named types of a basic kind, and pointers to them.
func assignReflect(dest any, src driver.Value) error {
	dp := reflect.ValueOf(dest)
	if dp.Kind() != reflect.Pointer {
		return errors.New("destination not a pointer")
	}
	if dp.IsNil() {
		return errors.New("destination pointer is nil")
	}
	dv := dp.Elem()
	sv := reflect.ValueOf(src)
	if sv.IsValid() {
		if sv.Type().AssignableTo(dv.Type()) {
			if b, ok := src.([]byte); ok {
				dv.Set(reflect.ValueOf(bytes.Clone(b)))
			} else {
				dv.Set(sv)
			}
			return nil
		}
		if dv.Kind() == sv.Kind() && sv.Type().ConvertibleTo(dv.Type()) {
			dv.Set(sv.Convert(dv.Type()))
			return nil
		}
	}
	text := func() string {
		if t, ok := textOf(src); ok {
			return t
		}
		return fmt.Sprint(src)
	}
	fail := func(err error) error {
		if ne, ok := err.(*strconv.NumError); ok {
			err = ne.Err
		}
		return fmt.Errorf("converting driver.Value type %T (%q) to a %s: %w", src, text(), dv.Kind(), err)
	}
	switch dv.Kind() {
	case reflect.Pointer:
		if src == nil {
			dv.SetZero()
			return nil
		}
		dv.Set(reflect.New(dv.Type().Elem()))
		return assign(dv.Interface(), src)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if src == nil {
			return fmt.Errorf("converting NULL to %s is unsupported", dv.Kind())
		}
		n, err := strconv.ParseInt(text(), 10, dv.Type().Bits())
		if err != nil {
			return fail(err)
		}
		dv.SetInt(n)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if src == nil {
			return fmt.Errorf("converting NULL to %s is unsupported", dv.Kind())
		}
		n, err := strconv.ParseUint(text(), 10, dv.Type().Bits())
		if err != nil {
			return fail(err)
		}
		dv.SetUint(n)
		return nil
	case reflect.Float32, reflect.Float64:
		if src == nil {
			return fmt.Errorf("converting NULL to %s is unsupported", dv.Kind())
		}
		f, err := strconv.ParseFloat(text(), dv.Type().Bits())
		if err != nil {
			return fail(err)
		}
		dv.SetFloat(f)
		return nil
	case reflect.String:
		if src == nil {
			return fmt.Errorf("converting NULL to %s is unsupported", dv.Kind())
		}
		switch s := src.(type) {
		case string:
			dv.SetString(s)
			return nil
		case []byte:
			dv.SetString(string(s))
			return nil
		}
	}
	return fmt.Errorf("unsupported Scan, storing driver.Value type %T into type %T", src, dest)
}

// textOf is src as text, as database/sql turns a value into a string.
func textOf(src driver.Value) (string, bool) {
	switch s := src.(type) {
	case string:
		return s, true
	case []byte:
		return string(s), true
	case int64:
		return strconv.FormatInt(s, 10), true
	case float64:
		return strconv.FormatFloat(s, 'g', -1, 64), true
	}
	return "", false
}
