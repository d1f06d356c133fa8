// Custom search attributes registered on the Temporal server (DESIGN.md) so operators
// can filter lifecycles in the Temporal UI, e.g. ProjectStatus="ERROR".
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const ProjectStatusKey = defineSearchAttributeKey('ProjectStatus', SearchAttributeType.KEYWORD);
export const ProjectOwnerKey = defineSearchAttributeKey('ProjectOwner', SearchAttributeType.KEYWORD);
export const ProjectNameKey = defineSearchAttributeKey('ProjectName', SearchAttributeType.KEYWORD);
