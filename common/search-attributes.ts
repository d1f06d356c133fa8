// Custom search attributes registered on the Temporal server (docs/design.md) so operators
// can filter lifecycles in the Temporal UI, e.g. ProjectStatus="ERROR".
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const ProjectStatusKey = defineSearchAttributeKey('ProjectStatus', SearchAttributeType.KEYWORD);
export const ProjectOwnerKey = defineSearchAttributeKey('ProjectOwner', SearchAttributeType.KEYWORD);
export const ProjectNameKey = defineSearchAttributeKey('ProjectName', SearchAttributeType.KEYWORD);

/** Search attributes a lifecycle starts with; the workflow keeps ProjectStatus current. */
export function initialSearchAttributes(ownerId: string, projectName: string) {
  return [
    { key: ProjectStatusKey, value: 'CREATING' },
    { key: ProjectOwnerKey, value: ownerId },
    { key: ProjectNameKey, value: projectName },
  ];
}
