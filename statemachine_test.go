package dynamodbtracker_test

import (
	"bytes"
	"os"
	"testing"

	dynamodbtracker "github.com/dynamodb-tracker/dynamodb-tracker"
)

func TestDefinitionIsTheFile(t *testing.T) {
	file, err := os.ReadFile("statemachine.asl.json")
	if err != nil {
		t.Fatal(err)
	}
	def := dynamodbtracker.Definition()
	if !bytes.Equal(def, file) {
		t.Fatalf("Definition() is %d bytes, not statemachine.asl.json's %d", len(def), len(file))
	}
	def[0] = 'x'
	if again := dynamodbtracker.Definition(); !bytes.Equal(again, file) {
		t.Errorf("changing what Definition returned changed the next copy")
	}
}
