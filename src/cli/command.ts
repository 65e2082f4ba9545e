/** One `secure-signer <name>` command; commands.ts lists them, each command file exports one. */
export interface Command {
  name: string;
  summary: string;
  usage: string;
  run(argv: string[]): Promise<number>;
}
