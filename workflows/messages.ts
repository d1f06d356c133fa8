// Signal and query definitions of projectLifecycle. Pure: the web's Temporal client
// imports these too.
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { SIGNALS, STATUS_QUERY, type ProjectStatusView } from '../common/lifecycle';

export const startSignal = defineSignal(SIGNALS.start);
export const stopSignal = defineSignal(SIGNALS.stop);
export const deleteSignal = defineSignal(SIGNALS.delete);
export const environmentChangedSignal = defineSignal(SIGNALS.environmentChanged);
export const statusQuery = defineQuery<ProjectStatusView>(STATUS_QUERY);
