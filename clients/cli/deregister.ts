import { type CliCommand, instanceOperands, registryFlags, runCliCommand, withRegistry } from './cli-command.js';

export const deregisterCommand: CliCommand<typeof registryFlags, typeof instanceOperands> = {
  name: 'deregister',
  synopsis: 'NAME ID [--json]',
  about: 'Deregisters an instance (DELETE /v1/services/NAME/instances/ID); an unknown one fails with exit code 1.',
  operands: instanceOperands,
  flags: registryFlags,
  async run(flags, { NAME, ID }) {
    await withRegistry(flags, (api) => api.deregister(NAME, ID, { mustExist: true }));
    // The API answers 204 with no body: --json prints nothing, the exit code says it all.
    return flags.json ? '' : `deregistered ${NAME}/${ID}\n`;
  },
};

/** `beacon deregister NAME ID` */
export function main(argv: string[]): Promise<void> {
  return runCliCommand(argv, deregisterCommand);
}
