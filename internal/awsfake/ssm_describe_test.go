package awsfake

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

func (f *fixture) putParam(t *testing.T, in *ssm.PutParameterInput) *ssm.PutParameterOutput {
	t.Helper()
	if in.Type == "" {
		in.Type = ssmtypes.ParameterTypeString
	}
	if in.Value == nil {
		in.Value = aws.String("v")
	}
	out, err := f.ssm().PutParameter(context.Background(), in)
	if err != nil {
		t.Fatalf("PutParameter(%s): %v", aws.ToString(in.Name), err)
	}
	return out
}

func (f *fixture) describeNames(t *testing.T, filters ...ssmtypes.ParameterStringFilter) []string {
	t.Helper()
	var names []string
	p := ssm.NewDescribeParametersPaginator(f.ssm(), &ssm.DescribeParametersInput{ParameterFilters: filters})
	for p.HasMorePages() {
		page, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatalf("DescribeParameters(%+v): %v", filters, err)
		}
		for _, m := range page.Parameters {
			names = append(names, aws.ToString(m.Name))
		}
	}
	return names
}

func paramFilter(key, option string, values ...string) ssmtypes.ParameterStringFilter {
	f := ssmtypes.ParameterStringFilter{Key: aws.String(key), Values: values}
	if option != "" {
		f.Option = aws.String(option)
	}
	return f
}

func TestDescribeParametersFilters(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, n := range []string{"/a/b", "/a/b/c", "/other", "top"} {
		f.putParam(t, &ssm.PutParameterInput{Name: aws.String(n)})
	}
	f.putParam(t, &ssm.PutParameterInput{Name: aws.String("/a/x"), Value: aws.String("s3cret"), Type: ssmtypes.ParameterTypeSecureString,
		Description: aws.String("registry auth for one run")})

	for _, c := range []struct {
		what   string
		filter ssmtypes.ParameterStringFilter
		want   []string
	}{
		{"Path /a (OneLevel by default)", paramFilter("Path", "", "/a"), []string{"/a/b", "/a/x"}},
		{"Path /a OneLevel", paramFilter("Path", "OneLevel", "/a/"), []string{"/a/b", "/a/x"}},
		{"Path /a Recursive", paramFilter("Path", "Recursive", "/a"), []string{"/a/b", "/a/b/c", "/a/x"}},
		{"Path / OneLevel", paramFilter("Path", "OneLevel", "/"), []string{"/other", "top"}},
		{"Name BeginsWith", paramFilter("Name", "BeginsWith", "/a/b"), []string{"/a/b", "/a/b/c"}},
		{"Name Equals (a leading slash added)", paramFilter("Name", "", "a/b", "/top"), []string{"/a/b", "top"}},
		{"Name Contains", paramFilter("Name", "Contains", "the"), []string{"/other"}},
		{"Type", paramFilter("Type", "", "SecureString"), []string{"/a/x"}},
		{"Tier", paramFilter("Tier", "", "Advanced"), nil},
		{"KeyId", paramFilter("KeyId", "", "alias/aws/ssm"), []string{"/a/x"}},
		{"a tag", paramFilter("tag:team", "", "x"), nil},
	} {
		if got := f.describeNames(t, c.filter); !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.what, got, c.want)
		}
	}
	if got := f.describeNames(t, paramFilter("Path", "Recursive", "/a"), paramFilter("Type", "", "String")); !slices.Equal(got, []string{"/a/b", "/a/b/c"}) {
		t.Errorf("Path and Type: %q", got)
	}

	out, err := f.ssm().DescribeParameters(ctx, &ssm.DescribeParametersInput{ParameterFilters: []ssmtypes.ParameterStringFilter{paramFilter("Name", "", "/a/x")}})
	if err != nil || len(out.Parameters) != 1 {
		t.Fatalf("%+v, %v", out, err)
	}
	m := out.Parameters[0]
	if m.Type != ssmtypes.ParameterTypeSecureString || m.Tier != ssmtypes.ParameterTierStandard || m.Version != 1 || m.LastModifiedDate == nil ||
		aws.ToString(m.Description) != "registry auth for one run" || aws.ToString(m.KeyId) != "alias/aws/ssm" ||
		aws.ToString(m.ARN) != "arn:aws:ssm:us-east-1:123456789012:parameter/a/x" || aws.ToString(m.DataType) != "text" {
		t.Fatalf("metadata %+v", m)
	}
	if strings.Contains(fmt.Sprintf("%+v", out), "s3cret") {
		t.Fatal("DescribeParameters shows the value")
	}

	for _, c := range []struct {
		what    string
		filters []ssmtypes.ParameterStringFilter
		code    string
	}{
		{"Label", []ssmtypes.ParameterStringFilter{paramFilter("Label", "", "x")}, "InvalidFilterKey"},
		{"unknown key", []ssmtypes.ParameterStringFilter{paramFilter("Colour", "", "x")}, "ValidationException"},
		{"no values", []ssmtypes.ParameterStringFilter{paramFilter("Name", "")}, "InvalidFilterValue"},
		{"twice", []ssmtypes.ParameterStringFilter{paramFilter("Name", "", "a"), paramFilter("Name", "", "b")}, "InvalidFilterKey"},
		{"Path Equals", []ssmtypes.ParameterStringFilter{paramFilter("Path", "Equals", "/a")}, "InvalidFilterOption"},
		{"Type Contains", []ssmtypes.ParameterStringFilter{paramFilter("Type", "Contains", "String")}, "InvalidFilterOption"},
		{"bad Type", []ssmtypes.ParameterStringFilter{paramFilter("Type", "", "Secret")}, "InvalidFilterValue"},
		{"bad Tier", []ssmtypes.ParameterStringFilter{paramFilter("Tier", "", "Gold")}, "InvalidFilterValue"},
		{"/aws path", []ssmtypes.ParameterStringFilter{paramFilter("Path", "", "/aws/service")}, "ValidationException"},
		{"relative path", []ssmtypes.ParameterStringFilter{paramFilter("Path", "", "a")}, "ValidationException"},
	} {
		if _, err := f.ssm().DescribeParameters(ctx, &ssm.DescribeParametersInput{ParameterFilters: c.filters}); apiCode(err) != c.code {
			t.Errorf("%s: %v, want %s", c.what, err, c.code)
		}
	}
	_, err = f.ssm().DescribeParameters(ctx, &ssm.DescribeParametersInput{
		Filters:          []ssmtypes.ParametersFilter{{Key: ssmtypes.ParametersFilterKeyName, Values: []string{"/a"}}},
		ParameterFilters: []ssmtypes.ParameterStringFilter{paramFilter("Type", "", "String")},
	})
	if apiCode(err) != "ValidationException" {
		t.Errorf("Filters with ParameterFilters: %v", err)
	}
	old, err := f.ssm().DescribeParameters(ctx, &ssm.DescribeParametersInput{
		Filters: []ssmtypes.ParametersFilter{{Key: ssmtypes.ParametersFilterKeyName, Values: []string{"/a/b"}}},
	})
	if err != nil || len(old.Parameters) != 2 {
		t.Errorf("deprecated Filters, Name is a prefix: %+v, %v", old, err)
	}
}

func TestDescribeParametersPages(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := range 12 {
		f.putParam(t, &ssm.PutParameterInput{Name: aws.String(fmt.Sprintf("/p/%02d", i))})
	}
	pages := func(max *int32) (n, pages int) {
		p := ssm.NewDescribeParametersPaginator(f.ssm(), &ssm.DescribeParametersInput{MaxResults: max})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			n, pages = n+len(page.Parameters), pages+1
		}
		return n, pages
	}
	if n, p := pages(nil); n != 12 || p != 2 {
		t.Errorf("default: %d parameters in %d pages, want 12 in 2 (10 a page)", n, p)
	}
	if n, p := pages(aws.Int32(5)); n != 12 || p != 3 {
		t.Errorf("MaxResults 5: %d parameters in %d pages", n, p)
	}
	for _, m := range []int32{0, 51} {
		if _, err := f.ssm().DescribeParameters(ctx, &ssm.DescribeParametersInput{MaxResults: aws.Int32(m)}); apiCode(err) != "ValidationException" {
			t.Errorf("MaxResults %d: %v", m, err)
		}
	}
	if _, err := f.ssm().DescribeParameters(ctx, &ssm.DescribeParametersInput{NextToken: aws.String("nope")}); apiCode(err) != "InvalidNextToken" {
		t.Errorf("bad NextToken: %v", err)
	}
}

// PutParameter's tiers and limits, and a String parameter used as a lock:
// an atomic create, a read of the holder, a delete to release.
func TestParameterTiersAndLock(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	put := func(name, value string, tier ssmtypes.ParameterTier, overwrite bool) (*ssm.PutParameterOutput, error) {
		return f.ssm().PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String(name), Value: aws.String(value),
			Type: ssmtypes.ParameterTypeString, Tier: tier, Overwrite: aws.Bool(overwrite)})
	}
	big, bigger := strings.Repeat("a", 5000), strings.Repeat("a", 8193)
	for _, c := range []struct {
		what, name, value string
		tier              ssmtypes.ParameterTier
		overwrite         bool
		want              ssmtypes.ParameterTier // "" for a ValidationException
	}{
		{"Standard, 4096", "/t/std", strings.Repeat("a", 4096), ssmtypes.ParameterTierStandard, false, ssmtypes.ParameterTierStandard},
		{"Standard, 4097", "/t/std2", strings.Repeat("a", 4097), ssmtypes.ParameterTierStandard, false, ""},
		{"no tier, 4097", "/t/std3", strings.Repeat("a", 4097), "", false, ""},
		{"Advanced, 5000", "/t/adv", big, ssmtypes.ParameterTierAdvanced, false, ssmtypes.ParameterTierAdvanced},
		{"Advanced, 8193", "/t/adv2", bigger, ssmtypes.ParameterTierAdvanced, false, ""},
		{"Intelligent-Tiering, small", "/t/it", "x", ssmtypes.ParameterTierIntelligentTiering, false, ssmtypes.ParameterTierStandard},
		{"Intelligent-Tiering, 5000", "/t/it2", big, ssmtypes.ParameterTierIntelligentTiering, false, ssmtypes.ParameterTierAdvanced},
		{"Advanced kept without a tier", "/t/adv", "x", "", true, ssmtypes.ParameterTierAdvanced},
		{"no downgrade", "/t/adv", "x", ssmtypes.ParameterTierStandard, true, ""},
		{"Standard upgraded", "/t/std", big, ssmtypes.ParameterTierAdvanced, true, ssmtypes.ParameterTierAdvanced},
		{"unknown tier", "/t/x", "x", "Gold", false, ""},
		{"empty value", "/t/x", "", "", false, ""},
	} {
		out, err := put(c.name, c.value, c.tier, c.overwrite)
		switch {
		case c.want == "" && apiCode(err) != "ValidationException":
			t.Errorf("%s: %+v, %v; want ValidationException", c.what, out, err)
		case c.want != "" && (err != nil || out.Tier != c.want):
			t.Errorf("%s: %+v, %v; want tier %s", c.what, out, err, c.want)
		}
	}
	if got := f.describeNames(t, paramFilter("Tier", "", "Advanced")); !slices.Equal(got, []string{"/t/adv", "/t/it2", "/t/std"}) {
		t.Errorf("Advanced parameters %q", got)
	}
	_, err := f.ssm().PutParameter(ctx, &ssm.PutParameterInput{Name: aws.String("/t/d"), Value: aws.String("x"), Type: ssmtypes.ParameterTypeString,
		Description: aws.String(strings.Repeat("d", 1025))})
	if apiCode(err) != "ValidationException" {
		t.Errorf("1025-character description: %v", err)
	}

	lock := "/ecs-registry-rotate/lock/prod"
	if out, err := put(lock, "run-1", "", false); err != nil || out.Version != 1 {
		t.Fatalf("take: %+v, %v", out, err)
	}
	var exists *ssmtypes.ParameterAlreadyExists
	if _, err := put(lock, "run-2", "", false); !errors.As(err, &exists) {
		t.Fatalf("second taker: %v", err)
	}
	got, err := f.ssm().GetParameter(ctx, &ssm.GetParameterInput{Name: aws.String(lock)})
	if err != nil || aws.ToString(got.Parameter.Value) != "run-1" || got.Parameter.Type != ssmtypes.ParameterTypeString {
		t.Fatalf("holder: %+v, %v", got, err)
	}
	if _, err := f.ssm().DeleteParameter(ctx, &ssm.DeleteParameterInput{Name: aws.String(lock)}); err != nil {
		t.Fatal(err)
	}
	if out, err := put(lock, "run-2", "", false); err != nil || out.Version != 1 {
		t.Fatalf("take after release: %+v, %v", out, err)
	}
}
