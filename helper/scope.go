package helper

import (
	"context"
	"fmt"
	"strconv"

	"github.com/G-Core/gcore-credential-helper/iam"
)

// Scope names a Gcore Cloud project and region, each by id or, as Terraform
// provider v0 allows, by name: a project by its name, a region by its display
// name ("Luxembourg-2") or slug ("luxembourg-2"). An id wins over a name.
type Scope struct {
	ProjectID, RegionID     int64
	ProjectName, RegionName string
}

// Complete reports whether the scope names both a project and a region.
func (s Scope) Complete() bool {
	return (s.ProjectID != 0 || s.ProjectName != "") && (s.RegionID != 0 || s.RegionName != "")
}

// key identifies the scope as given, in store keys: a record made for names
// is found again without resolving them.
func (s Scope) key() string {
	part := func(id int64, name string) string {
		if id != 0 {
			return strconv.FormatInt(id, 10)
		}
		return "=" + name
	}
	return part(s.ProjectID, s.ProjectName) + "/" + part(s.RegionID, s.RegionName)
}

func (s Scope) String() string {
	part := func(kind string, id int64, name string) string {
		if id != 0 {
			return fmt.Sprintf("%s %d", kind, id)
		}
		return fmt.Sprintf("%s %q", kind, name)
	}
	return part("project", s.ProjectID, s.ProjectName) + " " + part("region", s.RegionID, s.RegionName)
}

// resolve turns names into ids with the Cloud API; a scope of ids costs no
// call.
func (e *Engine) resolve(ctx context.Context, authorization string, s Scope) (Scope, error) {
	if !s.Complete() {
		return s, fmt.Errorf("no Cloud project and region: give their ids or names (or set project_id and region_id in the profile, or GCORE_CLOUD_PROJECT_ID and GCORE_CLOUD_REGION_ID)")
	}
	if s.ProjectID == 0 {
		projects, err := callIAM(ctx, e, func(ctx context.Context) ([]iam.Project, error) { return e.Cloud.ListProjects(ctx, authorization) })
		if err != nil {
			return s, fmt.Errorf("list projects: %w", err)
		}
		var ids []int64
		for _, p := range projects {
			if p.Name == s.ProjectName {
				ids = append(ids, p.ID)
			}
		}
		if s.ProjectID, err = oneID("project", s.ProjectName, ids); err != nil {
			return s, err
		}
	}
	if s.RegionID == 0 {
		regions, err := callIAM(ctx, e, func(ctx context.Context) ([]iam.Region, error) { return e.Cloud.ListRegions(ctx, authorization) })
		if err != nil {
			return s, fmt.Errorf("list regions: %w", err)
		}
		var ids []int64
		for _, r := range regions {
			if r.DisplayName == s.RegionName || r.Slug == s.RegionName {
				ids = append(ids, r.ID)
			}
		}
		if s.RegionID, err = oneID("region", s.RegionName, ids); err != nil {
			return s, err
		}
	}
	return s, nil
}

func oneID(kind, name string, ids []int64) (int64, error) {
	switch len(ids) {
	case 1:
		return ids[0], nil
	case 0:
		return 0, fmt.Errorf("no %s named %q in the account", kind, name)
	}
	return 0, fmt.Errorf("%d %ss are named %q (ids %v): give the id instead", len(ids), kind, name, ids)
}
