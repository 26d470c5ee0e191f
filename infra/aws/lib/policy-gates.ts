// Synth-time policy gates: cdk-nag (AWS Solutions, NIST 800-53 rev 5) and cfn-guard (Control Tower proactive controls).
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { type App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NIST80053R5Checks } from 'cdk-nag';

/** Registers every gate on the app; any finding that is neither fixed nor acknowledged fails synthesis. */
export function addPolicyGates(app: App): void {
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app),
    new NIST80053R5Checks(app),
    new CfnGuardValidator({ controlTowerRulesEnabled: true }),
  );
}
