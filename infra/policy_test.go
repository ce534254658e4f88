package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dynamodb-tracker/dynamodb-tracker/infra/construct"
	"github.com/dynamodb-tracker/dynamodb-tracker/tracker"
)

// This file evaluates the functions' synthesized IAM policies on the requests the functions
// make, and on some they must not: a small evaluator of the statements the construct writes.
// It follows IAM's rules for identity policies of one account, with no boundary or session
// policy: a request is denied unless an Allow statement matches it (an explicit Deny would
// win, but the construct writes none); a statement matches when one of its actions and one
// of its resources match, with * and ? wildcards (actions case-insensitively), and every
// condition holds. It knows the two conditions the construct writes, ForAllValues:StringLike
// and ForAllValues:StringNotLike on dynamodb:LeadingKeys, and fails the test on any other.

// The account, region and table the requests name; the template's references resolve to them.
const (
	account         = "123456789012"
	region          = "eu-west-1"
	tableArn        = "arn:aws:dynamodb:" + region + ":" + account + ":table/tasks"
	indexArn        = tableArn + "/index/" + tracker.IndexName
	failureIndexArn = tableArn + "/index/" + tracker.FailureIndexName
)

// request is one DynamoDB call.
type request struct {
	action, resource string
	// keys are the request's dynamodb:LeadingKeys: the key of the item it reads or writes,
	// the value it queries on the index; none for a call on no key (DescribeTable).
	keys []string
}

// statement is a policy statement with its template references resolved.
type statement struct {
	effect             string
	actions, resources []string
	condition          map[string]map[string][]string // operator → key → values
}

// policies returns the statements of every policy attached to function fn's role.
func (s *synthesized) policies(t *testing.T, fn string) []statement {
	t.Helper()
	role := s.roleOf(t, s.trackerFunctionIDs(t)[fn])
	var out []statement
	for _, p := range s.resources("AWS::IAM::Policy") {
		if !slices.ContainsFunc(props(p)["Roles"].([]any), func(r any) bool { return sameJSON(r, ref(role)) }) {
			continue
		}
		for _, st := range props(p)["PolicyDocument"].(obj)["Statement"].([]any) {
			out = append(out, s.statement(t, st.(obj)))
		}
	}
	return out
}

func (s *synthesized) statement(t *testing.T, st obj) statement {
	t.Helper()
	out := statement{effect: st["Effect"].(string), condition: map[string]map[string][]string{}}
	for _, a := range list(st["Action"]) {
		out.actions = append(out.actions, a.(string))
	}
	for _, r := range list(st["Resource"]) {
		out.resources = append(out.resources, s.resolve(t, r))
	}
	cond, _ := st["Condition"].(obj)
	for op, keys := range cond {
		out.condition[op] = map[string][]string{}
		for key, values := range keys.(obj) {
			for _, v := range list(values) {
				out.condition[op][key] = append(out.condition[op][key], v.(string))
			}
		}
	}
	return out
}

// resolve gives a template value as the deployed stack would have it: the pseudo parameters
// of the account and region above, and the table's ARN for the table's Arn attribute (any
// other attribute resolves to a text that names it, which no DynamoDB request does).
func (s *synthesized) resolve(t *testing.T, v any) string {
	t.Helper()
	switch v := v.(type) {
	case string:
		return v
	case obj:
		if r, ok := v["Ref"].(string); ok {
			if value, ok := map[string]string{"AWS::Partition": "aws", "AWS::Region": region, "AWS::AccountId": account}[r]; ok {
				return value
			}
		}
		if att := fromJSON[[]string](v["Fn::GetAtt"]); len(att) == 2 {
			if att[1] == "Arn" && s.resource(t, att[0])["Type"] == "AWS::DynamoDB::Table" {
				return tableArn
			}
			return "attribute " + att[1] + " of " + att[0] // a log group's ARN, say: no DynamoDB resource
		}
		if join := fromJSON[[]any](v["Fn::Join"]); len(join) == 2 {
			var parts []string
			for _, p := range join[1].([]any) {
				parts = append(parts, s.resolve(t, p))
			}
			return strings.Join(parts, join[0].(string))
		}
	}
	t.Fatalf("cannot resolve %s", toJSON(v))
	return ""
}

// allowed evaluates r against statements.
func allowed(t *testing.T, statements []statement, r request) bool {
	t.Helper()
	allow := false
	for _, st := range statements {
		if !matchesAny(st.actions, r.action, true) || !matchesAny(st.resources, r.resource, false) || !holds(t, st.condition, r) {
			continue
		}
		if st.effect == "Deny" {
			return false
		}
		allow = allow || st.effect == "Allow"
	}
	return allow
}

// holds reports whether every condition holds for r. ForAllValues holds when each of the
// request's values satisfies the operator, and so when the request has none (a call on no
// key); StringNotLike is satisfied by a value that matches none of the patterns.
func holds(t *testing.T, condition map[string]map[string][]string, r request) bool {
	t.Helper()
	for op, keys := range condition {
		for key, patterns := range keys {
			if key != "dynamodb:LeadingKeys" {
				t.Fatalf("the evaluator does not know the condition key %s", key)
			}
			var want bool
			switch op {
			case "ForAllValues:StringLike":
				want = true
			case "ForAllValues:StringNotLike":
				want = false
			default:
				t.Fatalf("the evaluator does not know the condition operator %s", op)
			}
			for _, k := range r.keys {
				if matchesAny(patterns, k, false) != want {
					return false
				}
			}
		}
	}
	return true
}

// matchesAny reports whether s matches one of patterns, in which * stands for any run of
// characters and ? for any one.
func matchesAny(patterns []string, s string, foldCase bool) bool {
	for _, p := range patterns {
		expr := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(p)) + "$"
		if foldCase {
			expr = "(?i)" + expr
		}
		if regexp.MustCompile(expr).MatchString(s) {
			return true
		}
	}
	return false
}

// TestEvaluator checks the evaluator itself on statements of known outcome.
func TestEvaluator(t *testing.T) {
	like := func(op string, patterns ...string) map[string]map[string][]string {
		return map[string]map[string][]string{op: {"dynamodb:LeadingKeys": patterns}}
	}
	for _, c := range []struct {
		name       string
		statements []statement
		r          request
		want       bool
	}{
		{"nothing allowed is denied", nil, request{"dynamodb:GetItem", tableArn, []string{"a____"}}, false},
		{"an action wildcard, in any case", []statement{{effect: "Allow", actions: []string{"DynamoDB:Get*"}, resources: []string{tableArn}}},
			request{"dynamodb:GetItem", tableArn, []string{"a____"}}, true},
		{"another resource", []statement{{effect: "Allow", actions: []string{"dynamodb:GetItem"}, resources: []string{tableArn}}},
			request{"dynamodb:GetItem", indexArn, []string{"a____"}}, false},
		{"a resource wildcard", []statement{{effect: "Allow", actions: []string{"dynamodb:Query"}, resources: []string{tableArn + "/index/*"}}},
			request{"dynamodb:Query", indexArn, []string{"a____00"}}, true},
		{"a key like a pattern", []statement{{effect: "Allow", actions: []string{"dynamodb:GetItem"}, resources: []string{tableArn}, condition: like("ForAllValues:StringLike", "b*", "a?____")}},
			request{"dynamodb:GetItem", tableArn, []string{"ab____"}}, true},
		{"a key like no pattern", []statement{{effect: "Allow", actions: []string{"dynamodb:GetItem"}, resources: []string{tableArn}, condition: like("ForAllValues:StringLike", "b*", "a?____")}},
			request{"dynamodb:GetItem", tableArn, []string{"abc____"}}, false},
		{"one of two keys like no pattern", []statement{{effect: "Allow", actions: []string{"dynamodb:BatchGetItem"}, resources: []string{tableArn}, condition: like("ForAllValues:StringLike", "a*")}},
			request{"dynamodb:BatchGetItem", tableArn, []string{"a1", "b1"}}, false},
		{"no key holds ForAllValues", []statement{{effect: "Allow", actions: []string{"dynamodb:DescribeTable"}, resources: []string{tableArn}, condition: like("ForAllValues:StringLike", "a*")}},
			request{"dynamodb:DescribeTable", tableArn, nil}, true},
		{"a key not like the pattern", []statement{{effect: "Allow", actions: []string{"dynamodb:GetItem"}, resources: []string{tableArn}, condition: like("ForAllValues:StringNotLike", "*_____")}},
			request{"dynamodb:GetItem", tableArn, []string{"a____"}}, true},
		{"a key like the negated pattern", []statement{{effect: "Allow", actions: []string{"dynamodb:GetItem"}, resources: []string{tableArn}, condition: like("ForAllValues:StringNotLike", "*_____")}},
			request{"dynamodb:GetItem", tableArn, []string{"a_____"}}, false},
		{"a Deny wins", []statement{
			{effect: "Allow", actions: []string{"dynamodb:*"}, resources: []string{tableArn}},
			{effect: "Deny", actions: []string{"dynamodb:DeleteItem"}, resources: []string{"*"}}},
			request{"dynamodb:DeleteItem", tableArn, []string{"a____t"}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := allowed(t, c.statements, c.r); got != c.want {
				t.Errorf("allowed = %v, want %v", got, c.want)
			}
		})
	}
}

// TestPoliciesOnRequests: each function may make the calls it makes, on the items it makes
// them on, and no other. A task's key is {job}____{task}, the job registry's item {job}____
// (and ____jobs____{job} as earlier versions wrote it), an index value {job}____{code} or,
// sharded, {job}____{code}____{shard}; the registry lists itself under ____jobs.
func TestPoliciesOnRequests(t *testing.T) {
	const other = "arn:aws:dynamodb:" + region + ":" + account + ":table/other"
	_, tenants := synth(t, construct.Props{TenantPrefixes: []string{"team-a-"}, Schedule: construct.Schedule{JobIDs: []string{"team-a-nightly"}},
		Alarms: construct.Alarms{Disabled: true}})
	stacks := map[string]*synthesized{"every job": stack(t, prodStack), "tenant team-a-": tenants}
	for _, c := range []struct {
		stack, fn string
		r         request
		want      bool
		why       string
	}{
		// claim
		{"every job", construct.Claim, request{"dynamodb:UpdateItem", tableArn, []string{"parse-json____t-1"}}, true, "claims a task"},
		{"every job", construct.Claim, request{"dynamodb:UpdateItem", tableArn, []string{"parse-json____"}}, true, "renews the run's lease at a lane's start"},
		{"every job", construct.Claim, request{"dynamodb:UpdateItem", other, []string{"parse-json____t-1"}}, false, "another table"},
		{"every job", construct.Claim, request{"dynamodb:GetItem", tableArn, []string{"parse-json____"}}, true, "reads the job's shards"},
		{"every job", construct.Claim, request{"dynamodb:GetItem", tableArn, []string{"____jobs____parse-json"}}, true, "reads the job's shards where earlier versions kept them"},
		{"every job", construct.Claim, request{"dynamodb:GetItem", tableArn, []string{"parse-json____t-1"}}, false, "reads no task"},
		{"every job", construct.Claim, request{"dynamodb:GetItem", tableArn, []string{"parse-json_____"}}, false, "reads no task, not even task _"},
		{"every job", construct.Claim, request{"dynamodb:GetItem", tableArn, []string{"parse-json_______"}}, false, "reads no task, not even task ___"},
		{"every job", construct.Claim, request{"dynamodb:Query", indexArn, []string{"parse-json____00"}}, true, "lists the job's todo tasks"},
		{"every job", construct.Claim, request{"dynamodb:Query", indexArn, []string{"parse-json____06____07"}}, true, "lists a shard's failed tasks"},
		{"every job", construct.Claim, request{"dynamodb:Query", tableArn, []string{"parse-json____t-1"}}, false, "queries the index only"},
		{"every job", construct.Claim, request{"dynamodb:DescribeTable", tableArn, nil}, true, "checks the index's shape"},
		{"every job", construct.Claim, request{"dynamodb:Query", failureIndexArn, []string{"parse-json____06____03"}}, true, "lists a failure group for a bulk step"},
		{"every job", construct.Claim, request{"dynamodb:UpdateItem", tableArn, []string{"parse-json________bulk____retry-1"}}, true, "records a bulk action's progress"},
		{"every job", construct.Claim, request{"dynamodb:Scan", tableArn, nil}, false, "never scans"},
		{"every job", construct.Claim, request{"dynamodb:PutItem", tableArn, []string{"parse-json____t-1"}}, false, "creates nothing"},
		{"every job", construct.Claim, request{"dynamodb:DeleteItem", tableArn, []string{"parse-json____t-1"}}, false, "deletes nothing"},
		{"tenant team-a-", construct.Claim, request{"dynamodb:UpdateItem", tableArn, []string{"team-a-job____t-1"}}, true, "claims a tenant's task"},
		{"tenant team-a-", construct.Claim, request{"dynamodb:UpdateItem", tableArn, []string{"team-a-job____"}}, true, "renews the run's lease of a tenant's job (the registry write once denied)"},
		{"tenant team-a-", construct.Claim, request{"dynamodb:UpdateItem", tableArn, []string{"team-b-x____t-1"}}, false, "another tenant's task"},
		{"tenant team-a-", construct.Claim, request{"dynamodb:UpdateItem", tableArn, []string{"team-b-x____"}}, false, "another tenant's run"},
		{"tenant team-a-", construct.Claim, request{"dynamodb:GetItem", tableArn, []string{"team-a-job____"}}, true, "reads a tenant's job's shards"},
		{"tenant team-a-", construct.Claim, request{"dynamodb:GetItem", tableArn, []string{"____jobs____team-a-job"}}, true, "reads a tenant's job's shards where earlier versions kept them"},
		{"tenant team-a-", construct.Claim, request{"dynamodb:GetItem", tableArn, []string{"____jobs____team-b-x"}}, false, "another tenant's job"},
		{"tenant team-a-", construct.Claim, request{"dynamodb:GetItem", tableArn, []string{"team-a-job____t-1"}}, false, "reads no task"},
		{"tenant team-a-", construct.Claim, request{"dynamodb:Query", indexArn, []string{"team-a-job____00"}}, true, "lists a tenant's tasks"},
		{"tenant team-a-", construct.Claim, request{"dynamodb:Query", indexArn, []string{"team-b-x____00"}}, false, "another tenant's tasks"},
		{"tenant team-a-", construct.Claim, request{"dynamodb:DescribeTable", tableArn, nil}, true, "checks the index's shape"},
		{"tenant team-a-", construct.Claim, request{"dynamodb:Query", failureIndexArn, []string{"team-a-job____10____00"}}, true, "lists a tenant's failure group"},
		{"tenant team-a-", construct.Claim, request{"dynamodb:Query", failureIndexArn, []string{"team-b-x____10____00"}}, false, "another tenant's failures"},
		// complete and fail
		{"every job", construct.Complete, request{"dynamodb:UpdateItem", tableArn, []string{"parse-json____t-1"}}, true, "completes a task"},
		{"every job", construct.Complete, request{"dynamodb:GetItem", tableArn, []string{"parse-json____"}}, true, "reads the job's shards"},
		{"every job", construct.Complete, request{"dynamodb:GetItem", tableArn, []string{"parse-json____t-1"}}, false, "reads no task"},
		{"every job", construct.Complete, request{"dynamodb:Query", indexArn, []string{"parse-json____00"}}, false, "lists nothing"},
		{"every job", construct.Complete, request{"dynamodb:DescribeTable", tableArn, nil}, false, "makes no query, so needs no look at the index"},
		{"every job", construct.Complete, request{"dynamodb:Query", failureIndexArn, []string{"parse-json____06____00"}}, false, "lists no failure"},
		{"every job", construct.Fail, request{"dynamodb:Query", failureIndexArn, []string{"parse-json____06____00"}}, false, "lists no failure: it writes one"},
		{"every job", construct.Fail, request{"dynamodb:UpdateItem", tableArn, []string{"parse-json____t-1"}}, true, "fails or releases a task"},
		{"every job", construct.Fail, request{"dynamodb:GetItem", tableArn, []string{"parse-json____"}}, true, "reads the job's shards"},
		{"every job", construct.Fail, request{"dynamodb:GetItem", tableArn, []string{"parse-json____t-1"}}, false, "reads no task"},
		{"tenant team-a-", construct.Complete, request{"dynamodb:UpdateItem", tableArn, []string{"team-a-job____t-1"}}, true, "completes a tenant's task"},
		{"tenant team-a-", construct.Complete, request{"dynamodb:UpdateItem", tableArn, []string{"team-b-x____t-1"}}, false, "another tenant's task"},
		{"tenant team-a-", construct.Fail, request{"dynamodb:GetItem", tableArn, []string{"team-a-job____"}}, true, "reads a tenant's job's shards"},
		{"tenant team-a-", construct.Fail, request{"dynamodb:GetItem", tableArn, []string{"team-b-x____"}}, false, "another tenant's job"},
		// list-pending
		{"every job", construct.ListPending, request{"dynamodb:UpdateItem", tableArn, []string{"parse-json____"}}, true, "takes, renews and ends the run's lease"},
		{"every job", construct.ListPending, request{"dynamodb:UpdateItem", tableArn, []string{"parse-json____t-1"}}, false, "writes no task"},
		{"every job", construct.ListPending, request{"dynamodb:UpdateItem", tableArn, []string{"parse-json_____"}}, false, "writes no task, not even task _"},
		{"every job", construct.ListPending, request{"dynamodb:UpdateItem", tableArn, []string{"____jobs____parse-json"}}, false, "writes no registry item of earlier versions"},
		{"every job", construct.ListPending, request{"dynamodb:GetItem", tableArn, []string{"parse-json____t-1"}}, true, "reads a task a run names"},
		{"every job", construct.ListPending, request{"dynamodb:GetItem", tableArn, []string{"parse-json____"}}, true, "reads the job's shards"},
		{"every job", construct.ListPending, request{"dynamodb:Query", indexArn, []string{"parse-json____06"}}, true, "lists and counts a job's tasks"},
		{"every job", construct.ListPending, request{"dynamodb:Query", indexArn, []string{"____jobs"}}, true, "lists the registered jobs for a sweep"},
		{"every job", construct.ListPending, request{"dynamodb:DescribeTable", tableArn, nil}, true, "checks the index's shape"},
		{"every job", construct.ListPending, request{"dynamodb:Query", failureIndexArn, []string{"parse-json____06____00"}}, false, "checks a bulk action, and lists no failure"},
		{"every job", construct.ListPending, request{"dynamodb:UpdateItem", tableArn, []string{"parse-json________bulk____retry-1"}}, false, "starts a bulk action without writing"},
		{"every job", construct.ListPending, request{"dynamodb:DeleteItem", tableArn, []string{"parse-json____"}}, false, "deletes nothing"},
		{"every job", construct.ListPending, request{"dynamodb:BatchWriteItem", tableArn, []string{"parse-json____t-1"}}, false, "creates nothing"},
		{"tenant team-a-", construct.ListPending, request{"dynamodb:UpdateItem", tableArn, []string{"team-a-job____"}}, true, "takes the run's lease of a tenant's job"},
		{"tenant team-a-", construct.ListPending, request{"dynamodb:UpdateItem", tableArn, []string{"team-a-job____t-1"}}, false, "writes no task"},
		{"tenant team-a-", construct.ListPending, request{"dynamodb:UpdateItem", tableArn, []string{"team-b-x____"}}, false, "another tenant's run"},
		{"tenant team-a-", construct.ListPending, request{"dynamodb:GetItem", tableArn, []string{"team-a-job____t-1"}}, true, "reads a tenant's task a run names"},
		{"tenant team-a-", construct.ListPending, request{"dynamodb:GetItem", tableArn, []string{"team-b-x____t-1"}}, false, "another tenant's task"},
		{"tenant team-a-", construct.ListPending, request{"dynamodb:Query", indexArn, []string{"team-a-job____00"}}, true, "lists a tenant's tasks"},
		{"tenant team-a-", construct.ListPending, request{"dynamodb:Query", indexArn, []string{"____jobs"}}, false, "the registry's listing is every tenant's: sweeps of all jobs need a role without tenants"},
		// the example worker
		{"every job", construct.ExampleWorker, request{"dynamodb:GetItem", tableArn, []string{"parse-json____t-1"}}, false, "sees tasks only through the state machine"},
	} {
		verdict := map[bool]string{true: "may", false: "may not"}[c.want]
		t.Run(c.stack+": "+c.fn+" "+verdict+" "+strings.TrimPrefix(c.r.action, "dynamodb:")+" "+strings.Join(c.r.keys, ","), func(t *testing.T) {
			s := stacks[c.stack]
			if got := allowed(t, s.policies(t, c.fn), c.r); got != c.want {
				t.Errorf("%s %s on %s %v: allowed = %v, want %v (%s)", c.fn, c.r.action, c.r.resource, c.r.keys, got, c.want, c.why)
			}
		})
	}
}
