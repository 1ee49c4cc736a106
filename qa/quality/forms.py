"""Forms for quality work: rating revisions, flags, hiding, edits with a reason, closing questions."""
from __future__ import annotations

from wtforms import RadioField, SelectField, StringField, SubmitField, TextAreaField

from qa.forms import BaseForm, RatingForm, choices
from qa.models import CLOSE_REASONS, FLAG_KINDS


class ReviseRatingForm(RatingForm):
    reason = TextAreaField("修订理由", description="修订后原评定仍予保留，并记录修订理由。")
    submit = SubmitField("提交修订")


class FlagForm(BaseForm):
    kind = RadioField("举报类型", choices=choices(FLAG_KINDS.items()))
    reason = TextAreaField("举报理由", description="请具体说明，例如所引条文已修改或废止。")
    submit = SubmitField("提交举报")


class ReasonForm(BaseForm):
    reason = TextAreaField("理由")
    submit = SubmitField("确定")


class ResolveFlagForm(BaseForm):
    decision = SelectField("处理结果", choices=choices([("upheld", "属实，已处理"), ("dismissed", "不属实，驳回")]))
    note = StringField("处理意见")
    submit = SubmitField("处理")


class EditQuestionForm(BaseForm):
    title = StringField("标题")
    body = TextAreaField("问题内容", description="支持 Markdown。修改前的版本会保留在修订记录中。")
    reason = StringField("修改理由", description="必填，将显示在修订记录中。")
    submit = SubmitField("保存修改")


class EditAnswerForm(BaseForm):
    body = TextAreaField("答复内容", description="支持 Markdown。修改前的版本会保留在修订记录中。")
    reason = StringField("修改理由", description="必填，将显示在修订记录中。")
    submit = SubmitField("保存修改")


class CloseForm(BaseForm):
    reason = SelectField("关闭原因", choices=choices([("", "请选择")] + list(CLOSE_REASONS.items())), validate_choice=False)
    duplicate_of = StringField("与之重复的问题编号", description="仅“重复问题”需填写，如 JD2026-110105-00001。")
    note = TextAreaField("说明", description="必填，将显示在问题页。")
    submit = SubmitField("关闭问题")
