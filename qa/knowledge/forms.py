"""Forms for curating canonical answers and assembling 集萃 batches."""
from __future__ import annotations

from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import Optional

from qa.forms import BaseForm, MultiCheckboxField, choices
from qa.models import CANONICAL_STATUSES


class CurateForm(BaseForm):
    answers = MultiCheckboxField("来源答复（可合并多条）", choices=[], coerce=int, validate_choice=False)
    title = StringField("标题", description="默认取问题标题，可改写为便于检索引用的表述。")
    text = TextAreaField("权威答复文本", description="在所选答复基础上整理；支持 Markdown。")
    legal_basis = TextAreaField("法律依据", description="所依据的法律、司法解释条文，每行一条，如：《刑法》第一百三十三条之一。")
    category = SelectField("业务条线", choices=[], validate_choice=False)
    topic = StringField("专题", description="如：危险驾驶、认罪认罚。知识库按专题归类。")
    effective_date = DateField("生效日期", validators=[Optional()])
    supersedes = IntegerField("替代的权威答复编号（可选）", validators=[Optional()],
                              description="如本答复取代一条现行有效的权威答复，填写其编号（知识库页面地址中的数字）。")
    submit = SubmitField("列为权威答复")


class EditCanonicalForm(BaseForm):
    title = StringField("标题")
    text = TextAreaField("权威答复文本")
    legal_basis = TextAreaField("法律依据")
    category = SelectField("业务条线", choices=[], validate_choice=False)
    topic = StringField("专题")
    effective_date = DateField("生效日期", validators=[Optional()])
    reason = StringField("修改理由", description="必填，原文本保留在修订记录中。")
    submit = SubmitField("保存修改")


class StatusForm(BaseForm):
    status = SelectField("变更为", choices=choices(CANONICAL_STATUSES.items()), validate_choice=False)
    successor = IntegerField("替代者编号", validators=[Optional()], description="变更为“已被替代”时填写替代它的权威答复编号。")
    note = TextAreaField("说明", description="必填，如：《刑法修正案（十二）》施行后规定已变化。")
    submit = SubmitField("变更状态")


class BatchForm(BaseForm):
    title = StringField("标题（可选）")
    editor_note = TextAreaField("编者按")
    submit = SubmitField("保存")


class AddItemForm(BaseForm):
    canonical_id = SelectField("权威答复", choices=[], coerce=int, validate_choice=False)
    submit = SubmitField("加入本批")


class ItemForm(BaseForm):
    title = StringField("标题")
    question_md = TextAreaField("问题")
    answer_md = TextAreaField("答复")
    legal_basis = TextAreaField("法律依据")
    submit = SubmitField("保存")


class CorrectionForm(BaseForm):
    answer_md = TextAreaField("更正后的答复")
    legal_basis = TextAreaField("更正后的法律依据")
    note = TextAreaField("勘误说明（更正了什么、为什么）")
    submit = SubmitField("发布勘误")


class PublishForm(BaseForm):
    accept_warnings = BooleanField("已逐条核对，上述提示不涉及真实个人信息")
    submit = SubmitField("发布")
