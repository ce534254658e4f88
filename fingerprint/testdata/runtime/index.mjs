// Calls a Node.js handler as the Lambda Node.js runtime does, for the fingerprint tests, and
// prints what the runtime reports of a thrown error.
//
// Usage: node index.mjs HANDLER_URL < event.json. On success it prints {"output": result};
// on an error, the error the runtime posts (toRapidResponse in
// aws-lambda-nodejs-runtime-interface-client): errorType (the error's name), errorMessage and
// trace, err.stack split into lines.
const { handler } = await import(process.argv[2]);
let input = "";
for await (const chunk of process.stdin) input += chunk;
try {
  console.log(JSON.stringify({ output: await handler(JSON.parse(input), {}) }));
} catch (e) {
  console.log(JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: e.stack.split("\n") }));
}
