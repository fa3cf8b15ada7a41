"""Prebuilt ``AgentTask`` workflows: collect an email address, a postal address, a name, a
phone number, a date of birth, keypad digits, a payment card; hand the caller to a human
(``WarmTransferTask``); and run several tasks in order with ``TaskGroup`` (the user may
go back to an earlier one).

They are ordinary voxfsm ``AgentTask`` subclasses: ``result = await GetEmailTask()`` inside a
tool or a hook, or ``session.start(GetEmailTask())`` and read ``run(...).final_output``.
"""

from __future__ import annotations

from voxfsm.agents.beta.workflows.address import GetAddressResult, GetAddressTask
from voxfsm.agents.beta.workflows.credit_card import GetCreditCardResult, GetCreditCardTask
from voxfsm.agents.beta.workflows.dob import GetDOBResult, GetDOBTask
from voxfsm.agents.beta.workflows.dtmf import GetDtmfResult, GetDtmfTask
from voxfsm.agents.beta.workflows.email import GetEmailResult, GetEmailTask
from voxfsm.agents.beta.workflows.person import (
    GetNameResult,
    GetNameTask,
    GetPhoneNumberResult,
    GetPhoneNumberTask,
)
from voxfsm.agents.beta.workflows.task_group import (
    TaskCompletedEvent,
    TaskGroup,
    TaskGroupResult,
)
from voxfsm.agents.beta.workflows.utils import DtmfEvent, WorkflowInstructions
from voxfsm.agents.beta.workflows.warm_transfer import (
    TransferRequest,
    WarmTransferResult,
    WarmTransferTask,
    set_human_agent,
)

__all__ = [
    "DtmfEvent",
    "GetAddressResult",
    "GetAddressTask",
    "GetCreditCardResult",
    "GetCreditCardTask",
    "GetDOBResult",
    "GetDOBTask",
    "GetDtmfResult",
    "GetDtmfTask",
    "GetEmailResult",
    "GetEmailTask",
    "GetNameResult",
    "GetNameTask",
    "GetPhoneNumberResult",
    "GetPhoneNumberTask",
    "TaskCompletedEvent",
    "TaskGroup",
    "TaskGroupResult",
    "TransferRequest",
    "WarmTransferResult",
    "WarmTransferTask",
    "WorkflowInstructions",
    "set_human_agent",
]
