"""Forms for handling questions, the expert pool and notification settings (rules live in the services)."""
from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import Optional

from qa.forms import BaseForm, MultiCheckboxField, choices
from qa.models import EMAIL_MODES


class ReasonForm(BaseForm):
    reason = TextAreaField("理由")
    submit = SubmitField("提交")


class TransferForm(BaseForm):
    to = StringField("接收专家（用户名）")
    reason = TextAreaField("转交理由")
    submit = SubmitField("转交")


class EscalateForm(BaseForm):
    reason = TextAreaField("提请理由", description="说明属于新类型、争议性问题的理由。")
    urgent = BooleanField("紧急（本级上一级院无专家时可越级）")
    submit = SubmitField("提请上级院")


class ConsultantForm(BaseForm):
    to = StringField("会商专家（用户名）")
    submit = SubmitField("邀请会商")


class FollowForm(BaseForm):
    action = HiddenField()
    submit = SubmitField("关注")


class ExpertForm(BaseForm):
    capacity = IntegerField("在办上限（件）", validators=[Optional()], description="同时在办的问题最多几件；0 表示暂停接收。")
    leave_until = DateField("休假至（含当日）", validators=[Optional()])
    term_start = DateField("聘期开始", validators=[Optional()])
    term_end = DateField("聘期结束", validators=[Optional()])
    specialities = MultiCheckboxField("专业领域（业务条线）", choices=[])
    tags = StringField("专长标签", description="最多 5 个，用逗号分隔，如：认罪认罚, 网络犯罪")
    note = StringField("备注")
    submit = SubmitField("保存")


class NotificationSettingsForm(BaseForm):
    email = StringField("邮箱地址")
    email_mode = RadioField("邮件通知", choices=choices(EMAIL_MODES.items()), default="off")
    categories = MultiCheckboxField("关注的业务条线（有新答复、新权威答复时通知我）", choices=[])
    submit = SubmitField("保存设置")
