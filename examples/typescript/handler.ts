// A worker for dynamodb-tracker's state machine, in TypeScript: counts the words of the task's
// text. The event is the claim's output; the returned object replaces the task's data; a
// thrown error fails the attempt, with its name as the errorType. Lambda runtime nodejs22.x
// (compile with tsc, or run with node --experimental-strip-types), handler "handler.handler".

// Claim is the worker's event (contract.ClaimOutput in Go).
interface Claim {
  job_id: string;
  task_id: string;
  data: { text?: string };
  attempt: number;
  lease: { retry: number; expires: string }; // retry: failed attempts so far
  work_timeout: number;
}

class NoText extends Error {
  name = "NoText";
}

export const handler = async (event: Claim) => {
  const words = (event.data.text ?? "").split(/\s+/).filter(Boolean).length;
  if (words === 0) throw new NoText(`task ${event.task_id} has no text`);
  return { task_id: event.task_id, attempt: event.attempt, words };
};
