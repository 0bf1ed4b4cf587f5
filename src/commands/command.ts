/**
 * @module
 * The shape of one subcommand of the `berth` executable (a leaf module, so commands and
 * the table in `mod.ts` never import each other in a circle).
 */

/** One subcommand: `berth <name> [args...]`. */
export interface Command {
  /** The word that selects it (`serve`, `gc`). */
  readonly name: string;
  /** One line for `berth help`. */
  readonly summary: string;
  /** Its arguments, for `berth help` (`[config.yml]`). */
  readonly usage: string;
  /** Runs it with the arguments after its name; resolves to the exit status. */
  run(args: string[]): Promise<number>;
}
