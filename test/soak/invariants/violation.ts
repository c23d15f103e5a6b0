/** An invariant the soak checks did not hold: the run stops and prints the schedule up to here. */
export class InvariantViolation extends Error {
  readonly invariant: string;

  constructor(invariant: string, message: string) {
    super(`${invariant}: ${message}`);
    this.invariant = invariant;
  }
}
